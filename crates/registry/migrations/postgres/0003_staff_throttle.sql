-- Issue 13: no more account lock (anyone who knows a login could trigger it); repeated
-- failures are slowed down by the portal's throttle per source and account instead, and
-- failed_logins only counts them (atomically) for the operator's log. totp_secret now holds
-- the secret sealed under the key in the portal's data directory ("sealed:v1:…"); secrets
-- an older version stored in clear are sealed when the portal starts.
ALTER TABLE staff DROP COLUMN locked_until;

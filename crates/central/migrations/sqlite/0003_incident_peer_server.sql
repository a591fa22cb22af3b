-- TT-6.8: the security server that sent a refused message, as its TLS certificate proved it.
-- The client a message names is only a claim until its signature verified, so a forged claim
-- is recorded against the sending server's owner, not against the member it names.
ALTER TABLE incidents ADD COLUMN peer_server TEXT;

//! X-Road identifiers in their slash-separated form (`X-Road-Client` header, REST paths,
//! transport metadata): `ClientId`, `ServiceId`, `SecurityServerId`.
//!
//! Asserted: an accepted identifier prints back as exactly the input (the form is
//! canonical), and that text parses again to an equal value.

#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use egov_xroad::{ClientId, SecurityServerId, ServiceId};
use libfuzzer_sys::fuzz_target;

fn round_trip<T>(input: &str)
where
    T: FromStr + Display + PartialEq + std::fmt::Debug,
    T::Err: std::fmt::Debug,
{
    let Ok(id) = input.parse::<T>() else { return };
    let text = id.to_string();
    assert_eq!(text, input, "identifier is not printed back as it was parsed");
    match text.parse::<T>() {
        Ok(again) => assert_eq!(again, id, "identifier changed through to_string + parse"),
        Err(e) => panic!("printed identifier {text:?} does not parse: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    round_trip::<ClientId>(s);
    round_trip::<ServiceId>(s);
    round_trip::<SecurityServerId>(s);
});

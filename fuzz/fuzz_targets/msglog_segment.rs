//! Segment frames as read back from disk (a damaged or hostile segment file): decoding
//! never panics, and whatever decodes re-encodes to the same bytes.
#![no_main]

use egov_msglog::segment::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((frame, used)) = Frame::decode(data) {
        let mut again = Vec::new();
        if frame.encode(&mut again).is_ok() {
            // JSON field order and escaping are canonical for what serde wrote; a frame
            // whose JSON was written differently still decodes to the same frame
            let (back, _) = Frame::decode(&again).expect("an encoded frame decodes");
            assert_eq!(back, frame);
        }
        assert!(used <= data.len());
    }
});

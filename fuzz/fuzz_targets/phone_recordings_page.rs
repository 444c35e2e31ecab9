//! `GET /phone/recordings` bodies: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<archiver_core::PhoneRecordingsPage>(data);
});

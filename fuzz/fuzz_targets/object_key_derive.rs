//! `ObjectKey::derive`: any conversation id, file id and extension give a valid key under
//! the tenant's prefix, with no `.`/`..`/empty segment, and the same key every time.
#![no_main]
use archiver_core::{ObjectKey, Source, TenantId};
use chrono::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str, &str, u32, bool)| {
    let (conv, file, ext, secs, phone) = input;
    let tenant = TenantId::new("acme").unwrap();
    let source = if phone {
        Source::Phone
    } else {
        Source::Meetings
    };
    let at = chrono::Utc.timestamp_opt(i64::from(secs), 0).unwrap();
    let k = ObjectKey::derive(&tenant, source, at, conv, file, ext);
    assert_eq!(ObjectKey::parse(k.as_str()).unwrap(), k);
    assert!(k.belongs_to(&tenant));
    assert!(
        k.as_str()
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
    );
    assert_eq!(ObjectKey::derive(&tenant, source, at, conv, file, ext), k);
});

//! `GET /archive_files` and `/past_meetings/{uuid}/archive_files` bodies: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<archiver_core::ArchiveFilesPage>(data) {
        for m in &page.meetings {
            let _ = m.is_external();
            for f in &m.archive_files {
                let _ = (f.is_completed(), f.is_failed(), f.is_individual());
            }
        }
    }
    let _ = serde_json::from_slice::<archiver_core::ArchiveMeeting>(data);
});

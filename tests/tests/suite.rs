//! The conformance suite on the three reference runners and the deterministic one (`sim`: a
//! virtual clock and a seeded order; every area but real I/O). Test names read
//! `<runtime>::<area>::<case>`.

mod tokio {
    anyscope_conformance::conformance_suite!(anyscope_tokio::run);
}

mod tokio_current_thread {
    anyscope_conformance::conformance_suite!(anyscope_tokio::run_current_thread);
}

mod smol {
    anyscope_conformance::conformance_suite!(anyscope_smol::run);
}

mod sim {
    anyscope_conformance::conformance_suite!(anyscope_sim::run; except io);
}

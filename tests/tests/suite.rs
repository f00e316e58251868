//! The conformance suite on the three reference runners. Test names read
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

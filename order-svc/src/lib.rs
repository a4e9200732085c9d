//! order-svc (being built)

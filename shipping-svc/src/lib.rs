//! shipping-svc (being built)

//! payment-svc (being built)

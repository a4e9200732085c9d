//! Where the source services are, for the processes that call them over HTTP: composer,
//! `order-history reconcile` and web. One set of flags, with the local profile's ports as
//! defaults (`stack up` serves there; compose publishes the same ports).

pub const DEFAULT_ORDER_SVC_URL: &str = "http://127.0.0.1:8001";
pub const DEFAULT_PAYMENT_SVC_URL: &str = "http://127.0.0.1:8002";
pub const DEFAULT_SHIPPING_SVC_URL: &str = "http://127.0.0.1:8003";

/// The base URLs of order-svc, payment-svc and shipping-svc.
#[derive(Clone, Debug, clap::Args)]
pub struct SourceServiceUrls {
    /// order-svc's base URL.
    #[arg(long = "order-svc-url", env = "ORDER_SVC_URL", default_value = DEFAULT_ORDER_SVC_URL)]
    pub order_svc_url: String,
    /// payment-svc's base URL.
    #[arg(long = "payment-svc-url", env = "PAYMENT_SVC_URL", default_value = DEFAULT_PAYMENT_SVC_URL)]
    pub payment_svc_url: String,
    /// shipping-svc's base URL.
    #[arg(long = "shipping-svc-url", env = "SHIPPING_SVC_URL", default_value = DEFAULT_SHIPPING_SVC_URL)]
    pub shipping_svc_url: String,
}

impl SourceServiceUrls {
    pub fn new(order_svc_url: &str, payment_svc_url: &str, shipping_svc_url: &str) -> Self {
        SourceServiceUrls {
            order_svc_url: order_svc_url.to_string(),
            payment_svc_url: payment_svc_url.to_string(),
            shipping_svc_url: shipping_svc_url.to_string(),
        }
    }
}

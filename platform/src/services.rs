//! The services of the system, by name, with the ports they listen on by default (the local
//! profile, `stack up`): one typed list, so that names and ports are not retyped as literals.

use std::net::{Ipv4Addr, SocketAddr};

/// A process of the system that answers HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    OrderSvc,
    PaymentSvc,
    ShippingSvc,
    OrderHistory,
    Composer,
    Web,
    SchemaRegistry,
}

impl Service {
    pub const ALL: [Service; 7] = [
        Service::OrderSvc,
        Service::PaymentSvc,
        Service::ShippingSvc,
        Service::OrderHistory,
        Service::Composer,
        Service::Web,
        Service::SchemaRegistry,
    ];

    /// The systems of record, in the order `stack up` starts them.
    pub const SOURCES: [Service; 3] = [Service::OrderSvc, Service::PaymentSvc, Service::ShippingSvc];

    /// The name of its binary, its log file and its metrics' `service` label.
    pub const fn name(self) -> &'static str {
        match self {
            Service::OrderSvc => "order-svc",
            Service::PaymentSvc => "payment-svc",
            Service::ShippingSvc => "shipping-svc",
            Service::OrderHistory => "order-history",
            Service::Composer => "composer",
            Service::Web => "web",
            Service::SchemaRegistry => "schema-registry",
        }
    }

    /// The service of this name, if there is one.
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|service| service.name() == name)
    }

    /// The port it listens on in the local profile.
    pub const fn default_port(self) -> u16 {
        match self {
            Service::OrderSvc => 8001,
            Service::PaymentSvc => 8002,
            Service::ShippingSvc => 8003,
            Service::OrderHistory => 8010,
            Service::Composer => 8020,
            Service::Web => 8030,
            Service::SchemaRegistry => 8081,
        }
    }

    /// Its default listener: the default port on loopback.
    pub const fn default_listen(self) -> SocketAddr {
        SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), self.default_port())
    }

    /// Where a client on the same machine reaches it by default.
    pub fn default_url(self) -> String {
        format!("http://{}", self.default_listen())
    }
}

impl std::fmt::Display for Service {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports_are_distinct_and_names_round_trip() {
        for (index, service) in Service::ALL.iter().enumerate() {
            assert_eq!(Service::from_name(service.name()), Some(*service));
            for other in &Service::ALL[index + 1..] {
                assert_ne!(service.default_port(), other.default_port());
            }
        }
        assert_eq!(Service::from_name("broker"), None);
        assert_eq!(Service::Composer.default_listen().to_string(), "127.0.0.1:8020");
    }
}

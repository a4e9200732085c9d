//! payment-svc against the real thing: a tansu broker, the schema registry and a fresh SQLite
//! or PostgreSQL database per test, all started by `testkit`. One binary with modules, so the
//! suite links once.

/// Runs each named scenario, an `async fn(Database)`, as two tests: `sqlite` and `postgres`.
macro_rules! on_both_databases {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    super::$scenario(testkit::Database::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    super::$scenario(testkit::Database::Postgres).await;
                }
            }
        )+
    };
}

mod helpers;

mod create;
mod events;
mod faults;
mod idempotency;
mod reads;
mod transitions;

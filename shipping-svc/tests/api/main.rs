//! shipping-svc against a real broker, schema registry and database (SQLite, and PostgreSQL
//! for everything that touches the store). One test binary with modules, so it links once.

/// Runs each named scenario `async fn scenario(database: Database)` as two tests,
/// `scenario::sqlite` and `scenario::postgres`.
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

mod create;
mod events;
mod faults;
mod helpers;
mod idempotency;
mod read;
mod status;

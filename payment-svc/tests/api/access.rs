//! Who may call what: every credential against every endpoint of payment-svc.

use testkit::Database;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn each_endpoint_lets_through_only_its_credential() {
    let app = TestApp::spawn(Database::Sqlite).await;
    testkit::access::assert_source_service_access(
        &app.service.base_url,
        &[
            "/payments?order_id=0190a0b0-0000-7000-8000-000000000001",
            "/payments/0190a0b0-0000-7000-8000-000000000001",
            "/v2/payments?order_id=0190a0b0-0000-7000-8000-000000000001",
            "/v2/payments/0190a0b0-0000-7000-8000-000000000001",
        ],
        &[
            "/payments",
            "/payments/0190a0b0-0000-7000-8000-000000000001/capture",
            "/payments/0190a0b0-0000-7000-8000-000000000001/refund",
        ],
    )
    .await;
}

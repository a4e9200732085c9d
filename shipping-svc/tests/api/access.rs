//! Who may call what: every credential against every endpoint of shipping-svc.

use testkit::Database;

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn each_endpoint_lets_through_only_its_credential() {
    let app = TestApp::spawn(Database::Sqlite).await;
    testkit::access::assert_source_service_access(
        &app.service.base_url,
        &[
            "/shipments?order_id=0190a0b0-0000-7000-8000-000000000001",
            "/shipments/0190a0b0-0000-7000-8000-000000000001",
        ],
        &["/shipments", "/shipments/0190a0b0-0000-7000-8000-000000000001/status"],
    )
    .await;
}

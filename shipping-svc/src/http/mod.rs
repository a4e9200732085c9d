//! The HTTP surface: the shipments resource, its error type and its OpenAPI document.

pub mod error;
pub mod shipments;

use platform::json::ErrorBody;
use source_platform::values::AddressInput;

use crate::domain::ShipmentStatus;
use shipments::{AddressResponse, ChangeStatusRequest, CreateShipmentRequest, ShipmentListResponse, ShipmentResponse};

/// The OpenAPI document of shipping-svc's own endpoints; the runtime merges in the admin and
/// operational ones.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "shipping-svc", description = "The system of record for shipments"),
    paths(
        shipments::create_shipment,
        shipments::change_shipment_status,
        shipments::get_shipment,
        shipments::list_shipments
    ),
    components(schemas(
        ErrorBody,
        AddressInput,
        AddressResponse,
        ChangeStatusRequest,
        CreateShipmentRequest,
        ShipmentListResponse,
        ShipmentResponse,
        ShipmentStatus
    )),
    tags((name = "shipments", description = "Create shipments and follow them to the door"))
)]
pub struct ApiDoc;

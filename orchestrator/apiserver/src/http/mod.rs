//! HTTP plumbing shared by every handler: bodies (whole and streamed), reading requests with a size
//! limit, query parameters, and JSON / `Status` responses.

mod body;
mod response;

pub use body::{read_body, Body, EventSender, MAX_BODY_BYTES};
pub use response::{
    json_response, media_type, query_params, status_response, text_response, ContentType,
};

use serde_json::json;

use super::*;

#[test]
fn not_found_names_core_resources_without_group() {
    let e = StatusError::not_found("pods", "", "x");
    assert_eq!(e.code, 404);
    assert_eq!(e.message, r#"pods "x" not found"#);
    let body = e.to_value();
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["details"], json!({"name": "x", "kind": "pods"}));
    assert_eq!(body["code"], 404);
    assert_eq!(body["status"], "Failure");
}

#[test]
fn not_found_qualifies_grouped_resources() {
    let e = StatusError::not_found("deployments", "apps", "web");
    assert_eq!(e.to_string(), r#"deployments.apps "web" not found"#);
    assert_eq!(e.to_value()["details"]["group"], "apps");
}

#[test]
fn body_fields_follow_upstream_order() {
    let body = StatusError::already_exists("configmaps", "", "cfg").to_value();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "kind",
            "apiVersion",
            "metadata",
            "status",
            "message",
            "reason",
            "details",
            "code"
        ]
    );
    assert_eq!(body["message"], r#"configmaps "cfg" already exists"#);
    assert_eq!(body["reason"], "AlreadyExists");
    assert_eq!(body["code"], 409);
}

#[test]
fn conflict_uses_upstream_wording() {
    let e = StatusError::conflict("pods", "", "x");
    assert_eq!(e.code, 409);
    assert_eq!(e.reason, StatusReason::Conflict);
    assert_eq!(
        e.message,
        r#"Operation cannot be fulfilled on pods "x": the object has been modified; please apply your changes to the latest version and try again"#
    );
}

#[test]
fn invalid_with_one_cause_prints_it_bare() {
    let e = StatusError::invalid(
        "Pod",
        "",
        "x",
        &[FieldError::required("spec.containers[0].image", "")],
    );
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        r#"Pod "x" is invalid: spec.containers[0].image: Required value"#
    );
    let body = e.to_value();
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["details"],
        json!({"name": "x", "kind": "Pod", "causes": [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
        ]})
    );
}

#[test]
fn invalid_with_several_causes_brackets_them() {
    let errors = [
        FieldError::invalid(
            "metadata.name",
            json!("Bad_Name"),
            "a lowercase RFC 1123 subdomain",
        ),
        FieldError::not_supported(
            "spec.restartPolicy",
            json!("Sometimes"),
            &["Always", "OnFailure", "Never"],
        ),
        FieldError::duplicate("spec.containers[1].name", json!("web")),
        FieldError::forbidden("spec.selector", "field is immutable"),
        FieldError::too_long("metadata.annotations", 262144),
    ];
    let e = StatusError::invalid("Deployment", "apps", "web", &errors);
    assert_eq!(
        e.message,
        concat!(
            r#"Deployment.apps "web" is invalid: ["#,
            r#"metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain, "#,
            r#"spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never", "#,
            r#"spec.containers[1].name: Duplicate value: "web", "#,
            r#"spec.selector: Forbidden: field is immutable, "#,
            r#"metadata.annotations: Too long: may not be more than 262144 bytes]"#
        )
    );
    let causes = &e.to_value()["details"]["causes"];
    let reasons: Vec<&str> = causes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "FieldValueInvalid",
            "FieldValueNotSupported",
            "FieldValueDuplicate",
            "FieldValueForbidden",
            "FieldValueTooLong"
        ]
    );
    assert_eq!(e.to_value()["details"]["kind"], "Deployment");
}

#[test]
fn invalid_numbers_are_printed_bare() {
    let e = FieldError::invalid(
        "spec.replicas",
        json!(-1),
        "must be greater than or equal to 0",
    );
    assert_eq!(
        e.to_string(),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn forbidden_for_user_in_namespace() {
    let e = StatusError::forbidden_for_user(&ForbiddenRequest {
        user: "u",
        verb: "list",
        resource: Some("pods"),
        group: "",
        namespace: Some("default"),
        ..ForbiddenRequest::default()
    });
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        r#"pods is forbidden: User "u" cannot list resource "pods" in API group "" in the namespace "default""#
    );
}

#[test]
fn forbidden_for_user_on_named_subresource_at_cluster_scope() {
    let e = StatusError::forbidden_for_user(&ForbiddenRequest {
        user: "system:anonymous",
        verb: "get",
        resource: Some("nodes"),
        subresource: Some("proxy"),
        name: "n1",
        ..ForbiddenRequest::default()
    });
    assert_eq!(
        e.message,
        r#"nodes "n1" is forbidden: User "system:anonymous" cannot get resource "nodes/proxy" in API group "" at the cluster scope"#
    );
}

#[test]
fn forbidden_for_non_resource_path() {
    let e = StatusError::forbidden_for_user(&ForbiddenRequest {
        user: "bob",
        verb: "get",
        path: "/healthz",
        ..ForbiddenRequest::default()
    });
    assert_eq!(
        e.message,
        r#"forbidden: User "bob" cannot get path "/healthz""#
    );
}

#[test]
fn expired_resource_version_is_410_expired() {
    let body = StatusError::too_old_resource_version(5, 12).to_value();
    assert_eq!(body["code"], 410);
    assert_eq!(body["reason"], "Expired");
    assert_eq!(body["message"], "too old resource version: 5 (12)");
}

#[test]
fn codes_and_reasons_match_upstream() {
    let cases = [
        (StatusError::bad_request("x"), 400, "BadRequest"),
        (StatusError::unauthorized(), 401, "Unauthorized"),
        (
            StatusError::method_not_allowed("pods", "", "deletecollection"),
            405,
            "MethodNotAllowed",
        ),
        (
            StatusError::not_acceptable(&["application/json"]),
            406,
            "NotAcceptable",
        ),
        (StatusError::gone("gone"), 410, "Gone"),
        (
            StatusError::request_entity_too_large("limit is 3145728"),
            413,
            "RequestEntityTooLarge",
        ),
        (
            StatusError::unsupported_media_type(&["application/json"]),
            415,
            "UnsupportedMediaType",
        ),
        (
            StatusError::too_many_requests("slow down", 1),
            429,
            "TooManyRequests",
        ),
        (StatusError::internal("disk full"), 500, "InternalError"),
        (
            StatusError::service_unavailable("starting"),
            503,
            "ServiceUnavailable",
        ),
        (
            StatusError::timeout("request did not complete within 60s", 2),
            504,
            "Timeout",
        ),
    ];
    for (error, code, reason) in cases {
        let body = error.to_value();
        assert_eq!(body["code"], code, "{reason}");
        assert_eq!(body["reason"], reason);
        assert_eq!(error.code, code);
    }
}

#[test]
fn messages_carry_upstream_prefixes() {
    assert_eq!(
        StatusError::internal("disk full").message,
        "Internal error occurred: disk full"
    );
    assert_eq!(
        StatusError::method_not_allowed("pods", "", "deletecollection").message,
        r#"deletecollection is not supported on resources of kind "pods""#
    );
    assert_eq!(
        StatusError::timeout("x", 2).to_value()["details"]["retryAfterSeconds"],
        2
    );
    assert_eq!(StatusError::unauthorized().message, "Unauthorized");
    assert_eq!(
        StatusError::table_not_supported("widgets", "example.com").message,
        "the resource widgets.example.com does not support being converted to a Table"
    );
}

#[test]
fn delete_success_carries_name_kind_and_uid() {
    let body = delete_success("configmaps", "", "cfg", "1234");
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
               "details": {"name": "cfg", "kind": "configmaps", "uid": "1234"}})
    );
}

#[test]
fn status_error_is_a_std_error() {
    let error: Box<dyn std::error::Error> = Box::new(StatusError::not_found("nodes", "", "n1"));
    assert_eq!(error.to_string(), r#"nodes "n1" not found"#);
}

#[test]
fn status_body_parses_as_k8s_openapi_status() {
    let body = StatusError::invalid(
        "Pod",
        "",
        "x",
        &[FieldError::required("spec.containers", "")],
    )
    .to_value();
    let status: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status =
        serde_json::from_value(body).unwrap();
    assert_eq!(status.code, Some(422));
    assert_eq!(
        status.details.unwrap().causes.unwrap()[0].field.as_deref(),
        Some("spec.containers")
    );
}

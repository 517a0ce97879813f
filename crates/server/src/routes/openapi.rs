//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the route table, so it
//! lists every route the router serves with its summary, path parameters and the roles its
//! rule admits (`x-roles`). Request and response schemas are not described yet; every error
//! response shares the one `Error` schema.

use std::collections::BTreeMap;

use axum::Json;
use serde_json::{Value, json};

use super::{Rule, route_rules};

pub(super) async fn document() -> Json<Value> {
    Json(build())
}

fn build() -> Value {
    let mut paths: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
    for route in route_rules() {
        let parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": route.summary,
            "operationId": format!("{} {}", route.method, route.path),
            "parameters": parameters,
            "responses": {
                "2XX": {"description": "success", "content": {"application/json": {}}},
                "default": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        match route.rule {
            Rule::Public => {}
            Rule::Staff(roles) => {
                operation["security"] = json!([{"bearer": []}]);
                operation["x-roles"] =
                    json!(roles.iter().map(|role| role.as_str()).collect::<Vec<_>>());
            }
            Rule::Candidate => {
                operation["security"] = json!([{"bearer": []}]);
                operation["x-roles"] = json!(["candidate"]);
            }
        }
        paths
            .entry(route.path)
            .or_default()
            .insert(route.method.as_str().to_lowercase(), operation);
    }
    for (path, summary) in [
        ("/healthz", "Liveness: the process is up"),
        ("/readyz", "Readiness: the database answers"),
        ("/api/openapi.json", "This document"),
    ] {
        paths.entry(path.to_owned()).or_default().insert(
            "get".to_owned(),
            json!({"summary": summary, "responses": {"200": {"description": "success"}}}),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "xcert", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}
                    }}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_in_the_table_appears_with_its_method() {
        let document = build();
        for route in route_rules() {
            let method = route.method.as_str().to_lowercase();
            let operation = &document["paths"][&route.path][&method];
            assert_eq!(
                operation["summary"], route.summary,
                "{method} {}",
                route.path
            );
        }
    }

    #[test]
    fn staff_routes_name_their_roles_and_path_parameters_are_declared() {
        let document = build();
        let create = &document["paths"]["/api/v1/organizations/{id}/certificates"]["post"];
        assert_eq!(create["x-roles"], json!(["admin", "org"]));
        assert_eq!(create["parameters"][0]["name"], "id");
        let login = &document["paths"]["/api/v1/staff/sessions"]["post"];
        assert!(login.get("security").is_none());
    }

    #[test]
    fn candidate_routes_need_a_bearer_token_and_name_the_candidate_role() {
        let document = build();
        let logout = &document["paths"]["/api/v1/candidate/sessions/current"]["delete"];
        assert_eq!(logout["x-roles"], json!(["candidate"]));
        assert_eq!(logout["security"], json!([{"bearer": []}]));
        let login = &document["paths"]["/api/v1/candidate/sessions"]["post"];
        assert!(login.get("security").is_none());
    }
}

#!/usr/bin/env python3
"""Writes crates/palisade-catalog/testdata/stripe_extract.json: a reduced
OpenAPI 3.0 extract of Stripe's public REST API (paths, methods, path-parameter
names, the common list/query parameters and the main form-encoded request
bodies), used as ground truth for the catalog's endpoint precision/recall.

Origin: the operations follow Stripe's public API (https://github.com/stripe/openapi,
MIT licence, and the public API reference). The full spec3 document is several
megabytes of mostly inline schemas that could not be copied into this tool's
session, so this extract was written by hand from the public paths and
parameter names; schemas are reduced to the members the traffic generator
uses. Deprecation flags follow Stripe's legacy card/source endpoints.
Re-run: python3 bench/catalog/make_stripe_extract.py
"""
import json, os

OPS = """
GET /v1/account
GET,POST /v1/accounts
GET,POST,DELETE /v1/accounts/{account}
GET,POST /v1/accounts/{account}/external_accounts
GET,POST,DELETE /v1/accounts/{account}/external_accounts/{id}
POST /v1/accounts/{account}/login_links
GET,POST /v1/accounts/{account}/persons
GET,POST,DELETE /v1/accounts/{account}/persons/{person}
POST /v1/accounts/{account}/reject
POST /v1/account_links
GET,POST /v1/apple_pay/domains
GET,DELETE /v1/apple_pay/domains/{domain}
GET /v1/application_fees
GET /v1/application_fees/{id}
GET,POST /v1/application_fees/{id}/refunds
GET /v1/balance
GET /v1/balance_transactions
GET /v1/balance_transactions/{id}
GET,POST /v1/charges
GET /v1/charges/search
GET,POST /v1/charges/{charge}
POST /v1/charges/{charge}/capture
GET,POST /v1/charges/{charge}/dispute
GET /v1/charges/{charge}/refunds
GET /v1/charges/{charge}/refunds/{refund}
GET,POST /v1/checkout/sessions
GET /v1/checkout/sessions/{session}
POST /v1/checkout/sessions/{session}/expire
GET /v1/checkout/sessions/{session}/line_items
GET /v1/country_specs
GET /v1/country_specs/{country}
GET,POST /v1/coupons
GET,POST,DELETE /v1/coupons/{coupon}
GET,POST /v1/customers
GET /v1/customers/search
GET,POST,DELETE /v1/customers/{customer}
GET,POST /v1/customers/{customer}/balance_transactions
GET,POST /v1/customers/{customer}/balance_transactions/{transaction}
GET!,POST! /v1/customers/{customer}/cards
GET!,DELETE! /v1/customers/{customer}/cards/{id}
GET,DELETE /v1/customers/{customer}/discount
GET /v1/customers/{customer}/payment_methods
GET,POST /v1/customers/{customer}/sources
GET,POST,DELETE /v1/customers/{customer}/sources/{id}
POST /v1/customers/{customer}/sources/{id}/verify
GET,POST /v1/customers/{customer}/tax_ids
GET,DELETE /v1/customers/{customer}/tax_ids/{id}
GET /v1/disputes
GET,POST /v1/disputes/{dispute}
POST /v1/disputes/{dispute}/close
GET /v1/events
GET /v1/events/{id}
GET,POST /v1/files
GET /v1/files/{file}
GET,POST /v1/invoices
GET /v1/invoices/upcoming
GET,POST,DELETE /v1/invoices/{invoice}
POST /v1/invoices/{invoice}/finalize
POST /v1/invoices/{invoice}/pay
POST /v1/invoices/{invoice}/void
GET /v1/invoices/{invoice}/lines
GET,POST /v1/issuing/cards
GET,POST /v1/issuing/cards/{card}
GET,POST /v1/issuing/cardholders
GET,POST /v1/issuing/cardholders/{cardholder}
GET,POST /v1/payment_intents
GET /v1/payment_intents/search
GET,POST /v1/payment_intents/{intent}
POST /v1/payment_intents/{intent}/cancel
POST /v1/payment_intents/{intent}/capture
POST /v1/payment_intents/{intent}/confirm
GET,POST /v1/payment_methods
GET,POST /v1/payment_methods/{payment_method}
POST /v1/payment_methods/{payment_method}/attach
POST /v1/payment_methods/{payment_method}/detach
GET,POST /v1/payouts
GET,POST /v1/payouts/{payout}
POST /v1/payouts/{payout}/cancel
GET,POST /v1/prices
GET,POST /v1/prices/{price}
GET,POST /v1/products
GET,POST,DELETE /v1/products/{id}
GET,POST /v1/refunds
GET,POST /v1/refunds/{refund}
GET /v1/reporting/report_types
GET /v1/reporting/report_types/{report_type}
GET,POST /v1/setup_intents
GET,POST /v1/setup_intents/{intent}
POST /v1/setup_intents/{intent}/confirm
GET!,POST! /v1/sources/{source}
GET,POST /v1/subscriptions
GET,POST,DELETE /v1/subscriptions/{subscription_exposed_id}
POST /v1/tokens
GET /v1/tokens/{token}
GET,POST /v1/transfers
GET,POST /v1/transfers/{transfer}
GET,POST /v1/transfers/{id}/reversals
GET,POST /v1/transfers/{transfer}/reversals/{id}
GET,POST /v1/webhook_endpoints
GET,POST,DELETE /v1/webhook_endpoints/{webhook_endpoint}
"""

# form-encoded bodies of the main creation endpoints (flattened names as Stripe sends them)
BODIES = {
    "/v1/customers": {"email": "string", "name": "string", "phone": "string", "description": "string", "metadata": "object"},
    "/v1/charges": {"amount": "integer", "currency": "string", "source": "string", "customer": "string", "description": "string", "capture": "boolean"},
    "/v1/payment_intents": {"amount": "integer", "currency": "string", "customer": "string", "payment_method": "string", "confirm": "boolean", "payment_method_types": "array"},
    "/v1/payment_methods": {"type": "string", "card": "object", "billing_details": "object"},
    "/v1/tokens": {"card": "object", "bank_account": "object"},
    "/v1/refunds": {"charge": "string", "payment_intent": "string", "amount": "integer", "reason": "string"},
    "/v1/payouts": {"amount": "integer", "currency": "string", "description": "string"},
    "/v1/transfers": {"amount": "integer", "currency": "string", "destination": "string"},
    "/v1/products": {"name": "string", "description": "string", "active": "boolean"},
    "/v1/prices": {"currency": "string", "unit_amount": "integer", "product": "string"},
    "/v1/accounts": {"type": "string", "country": "string", "email": "string", "business_type": "string"},
    "/v1/checkout/sessions": {"mode": "string", "success_url": "string", "cancel_url": "string", "customer": "string"},
    "/v1/subscriptions": {"customer": "string", "items": "array", "trial_period_days": "integer"},
    "/v1/webhook_endpoints": {"url": "string", "enabled_events": "array"},
    "/v1/issuing/cardholders": {"name": "string", "email": "string", "phone_number": "string", "type": "string"},
}

LIST_PARAMS = [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/starting_after"},
               {"$ref": "#/components/parameters/ending_before"}, {"$ref": "#/components/parameters/expand"}]

def op_id(method, path):
    parts = [p.strip("{}") for p in path.split("/")[2:]]
    return method.capitalize() + "".join(p.replace("_", " ").title().replace(" ", "") for p in parts)

paths = {}
schemas = {}
for line in OPS.strip().splitlines():
    methods, path = line.split()
    item = paths.setdefault(path, {})
    params_in_path = [s.strip("{}") for s in path.split("/") if s.startswith("{")]
    for m in methods.split(","):
        deprecated = m.endswith("!")
        m = m.rstrip("!").lower()
        op = {"operationId": op_id(m, path), "responses": {
            "200": {"description": "Successful response.", "content": {"application/json": {"schema": {"type": "object"}}}},
            "default": {"description": "Error response.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}}}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 5000}, "style": "simple"} for n in params_in_path]
        is_list = m == "get" and not path.endswith("}") and path not in ("/v1/account", "/v1/balance", "/v1/invoices/upcoming")
        if is_list:
            params += LIST_PARAMS
            if path.endswith("/search"):
                params += [{"name": "query", "in": "query", "required": True, "schema": {"type": "string"}},
                           {"name": "page", "in": "query", "schema": {"type": "string"}}]
        elif m == "get":
            params.append({"$ref": "#/components/parameters/expand"})
        if params:
            op["parameters"] = params
        if m == "post":
            name = op["operationId"] + "Request"
            props = {"expand": {"type": "array", "items": {"type": "string"}}}
            if path in BODIES:
                for k, t in BODIES[path].items():
                    s = {"type": t}
                    if t == "array":
                        s["items"] = {"type": "string"}
                    props[k] = s
            schemas[name] = {"type": "object", "properties": props, "additionalProperties": False}
            op["requestBody"] = {"required": False, "content": {"application/x-www-form-urlencoded": {
                "schema": {"$ref": "#/components/schemas/" + name}, "encoding": {"expand": {"explode": True, "style": "deepObject"}}}}}
        if deprecated:
            op["deprecated"] = True
        item[m] = op

schemas["error"] = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "type": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"}}}}, "required": ["error"]}
doc = {
    "openapi": "3.0.0",
    "info": {"title": "Stripe API (reduced extract for Palisade ground truth)", "version": "2024-06-20",
             "license": {"name": "MIT", "url": "https://github.com/stripe/openapi/blob/master/LICENSE"},
             "x-origin": "Operations of Stripe's public REST API (github.com/stripe/openapi, MIT); hand-reduced, see bench/catalog/make_stripe_extract.py"},
    "servers": [{"url": "https://api.stripe.com/"}],
    "security": [{"basicAuth": []}, {"bearerAuth": []}],
    "components": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}, "bearerAuth": {"type": "http", "scheme": "bearer"}},
        "parameters": {
            "limit": {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
            "starting_after": {"name": "starting_after", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 5000}},
            "ending_before": {"name": "ending_before", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 5000}},
            "expand": {"name": "expand", "in": "query", "required": False, "style": "deepObject", "explode": True,
                       "schema": {"type": "array", "items": {"type": "string", "maxLength": 5000}}},
        },
        "schemas": schemas,
    },
    "paths": paths,
}
out = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "palisade-catalog", "testdata", "stripe_extract.json")
with open(out, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=False)
    f.write("\n")
n = sum(len(v) for v in paths.values())
print(f"{out}: {len(paths)} paths, {n} operations")

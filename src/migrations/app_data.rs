//! The VideoAI app's data as `convex/init.ts` and `convex/migrations.ts` at
//! bf3b4ea hold it (videoai-app.md section 3): the default configurations,
//! models, credit packages and plans, and the per-model-type parameter
//! definitions, mapping rules and constraints. Every number is a JS number,
//! so every number here becomes a Float64.

use serde_json::{Value as Json, json};

use crate::engine::db::Fields;
use crate::value::Value;

/// A JSON literal as the app's TypeScript would store it: numbers are Float64.
pub fn js(json: Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(b),
        Json::Number(n) => Value::Float64(n.as_f64().expect("finite literal")),
        Json::String(s) => Value::String(s),
        Json::Array(items) => Value::Array(items.into_iter().map(js).collect()),
        Json::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, js(v))).collect()),
    }
}

/// [`js`] for an object literal.
pub fn js_fields(json: Json) -> Fields {
    match js(json) {
        Value::Object(f) => f,
        _ => panic!("an object literal"),
    }
}

/// `getModelParameterDefinitions(modelType)`.
pub fn definitions(model_type: Option<&str>) -> Value {
    let mut defs = json!({
        "prompt": {"type": "string", "required": true, "description": "Text description of the video to generate", "maxLength": 1000},
        "duration": {"type": "number", "required": true, "description": "Duration of the video in seconds", "minValue": 1, "maxValue": 60},
    });
    let extra = match model_type {
        Some("google_veo") => json!({
            "resolution": {"type": "string", "required": false, "description": "Video resolution", "allowedValues": ["720p", "1080p"], "defaultValue": "720p"},
            "startImageUrl": {"type": "string", "required": false, "description": "URL of starting image for video generation"},
        }),
        Some("luma_ray") => json!({
            "aspectRatio": {"type": "string", "required": false, "description": "Aspect ratio of the video", "allowedValues": ["16:9", "9:16", "1:1"], "defaultValue": "16:9"},
            "resolution": {"type": "string", "required": false, "description": "Video resolution", "allowedValues": ["480p", "720p", "1080p"], "defaultValue": "480p"},
            "cameraPosition": {"type": "string", "required": false, "description": "Camera position for 3D scenes", "allowedValues": ["front", "side", "back", "top"]},
        }),
        Some("stability_ai") => json!({
            "resolution": {"type": "string", "required": false, "description": "Video resolution", "allowedValues": ["768p", "1024p"], "defaultValue": "768p"},
        }),
        _ => json!({}),
    };
    merge(&mut defs, extra);
    js(defs)
}

/// `getModelMappingRules(modelType)` (its `parameterMappings` argument is ignored).
pub fn mapping_rules(model_type: Option<&str>) -> Value {
    let mut rules = json!({"prompt": "prompt", "duration": "duration"});
    let extra = match model_type {
        Some("google_veo") => json!({"resolution": "resolution", "startImageUrl": "image"}),
        Some("luma_ray") => {
            json!({"aspectRatio": "aspect_ratio", "resolution": "resolution", "cameraPosition": "camera_position"})
        }
        Some("stability_ai") => json!({"resolution": "resolution"}),
        _ => json!({}),
    };
    merge(&mut rules, extra);
    js(rules)
}

/// `getModelConstraints(modelType)`.
pub fn constraints(model_type: Option<&str>) -> Value {
    let mut cons =
        json!({"prompt": {"maxLength": 1000}, "duration": {"minValue": 1, "maxValue": 60}});
    let extra = match model_type {
        Some("google_veo") => json!({"resolution": {"allowedValues": ["720p", "1080p"]}}),
        Some("luma_ray") => json!({
            "aspectRatio": {"allowedValues": ["16:9", "9:16", "1:1"]},
            "resolution": {"allowedValues": ["480p", "720p", "1080p"]},
            "cameraPosition": {"allowedValues": ["front", "side", "back", "top"]},
        }),
        Some("stability_ai") => json!({"resolution": {"allowedValues": ["768p", "1024p"]}}),
        _ => json!({}),
    };
    merge(&mut cons, extra);
    js(cons)
}

fn merge(base: &mut Json, extra: Json) {
    if let (Json::Object(b), Json::Object(e)) = (base, extra) {
        b.extend(e);
    }
}

/// A new-structure `modelParameters` row for a model, stamped `now`.
pub fn definition_row(model_id: Option<&Value>, model_type: Option<&str>, now: f64) -> Fields {
    let mut row = js_fields(json!({
        "parameterCategories": ["basic", "advanced"],
        "createdAt": now,
        "updatedAt": now,
    }));
    if let Some(id) = model_id {
        row.insert("modelId".into(), id.clone());
    }
    row.insert("parameterDefinitions".into(), definitions(model_type));
    row.insert("mappingRules".into(), mapping_rules(model_type));
    row.insert("constraints".into(), constraints(model_type));
    row
}

/// The 11 default configurations, in insertion order, keyed by `key`.
pub fn configurations(now: f64) -> Vec<(String, Fields)> {
    let rows = [
        (
            "profit_margin",
            "business",
            "Profit Margin",
            "Profit margin multiplier (e.g., 1.32 = 32% markup)",
            json!(1.32),
            "number",
            Some((1.0, 2.0)),
        ),
        (
            "credits_per_dollar",
            "business",
            "Credits Per Dollar",
            "Number of credits equivalent to $1 USD",
            json!(50),
            "number",
            Some((1.0, 1000.0)),
        ),
        (
            "free_tier_credits",
            "business",
            "Free Tier Credits",
            "Number of credits given to new users",
            json!(10),
            "number",
            Some((0.0, 1000.0)),
        ),
        (
            "quality_multipliers",
            "pricing",
            "Quality Multipliers",
            "Cost multipliers for different quality tiers",
            json!({"standard": 1.0, "high": 1.2, "ultra": 1.5}),
            "object",
            None,
        ),
        (
            "enable_subscriptions",
            "features",
            "Enable Subscriptions",
            "Enable subscription plans for users",
            json!(true),
            "boolean",
            None,
        ),
        (
            "enable_public_videos",
            "features",
            "Enable Public Videos",
            "Allow users to make videos public",
            json!(true),
            "boolean",
            None,
        ),
        (
            "enable_video_analytics",
            "features",
            "Enable Video Analytics",
            "Track video views, downloads, and shares",
            json!(true),
            "boolean",
            None,
        ),
        (
            "default_model",
            "models",
            "Default Model",
            "Default model for new video generations",
            json!("google/veo-3"),
            "string",
            None,
        ),
        (
            "available_models",
            "models",
            "Available Models",
            "List of models available for video generation",
            json!([
                "google/veo-3",
                "luma/ray-2-540p",
                "stability-ai/stable-video-diffusion"
            ]),
            "array",
            None,
        ),
        (
            "max_video_duration",
            "limits",
            "Maximum Video Duration",
            "Maximum video duration in seconds",
            json!(60),
            "number",
            Some((1.0, 300.0)),
        ),
        (
            "max_prompt_length",
            "limits",
            "Maximum Prompt Length",
            "Maximum number of characters in video prompts",
            json!(1000),
            "number",
            Some((1.0, 5000.0)),
        ),
    ];
    rows.into_iter()
        .map(
            |(key, category, name, description, value, data_type, range)| {
                let mut row = json!({
                    "key": key, "category": category, "name": name, "description": description,
                    "value": value, "dataType": data_type, "isActive": true, "isEditable": true,
                    "createdAt": now, "updatedAt": now,
                });
                if let Some((min, max)) = range {
                    merge(&mut row, json!({"minValue": min, "maxValue": max}));
                }
                (key.to_owned(), js_fields(row))
            },
        )
        .collect()
}

/// The 3 models init creates, keyed by `modelId`.
pub fn models(now: f64) -> Vec<(String, Fields)> {
    const HASH: &str = "2b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8";
    let rows = [
        (
            "google/veo-3",
            "Google Veo-3",
            "Google's latest video generation model with high quality and fast generation",
            "google_veo",
            0.02,
            Some(5.0),
            true,
            false,
        ),
        (
            "luma/ray-2-540p",
            "Luma Ray Flash 2-540p",
            "Fast video generation with good quality at 540p resolution",
            "luma_ray",
            0.015,
            None,
            false,
            false,
        ),
        (
            "stability-ai/stable-video-diffusion",
            "Stable Video Diffusion",
            "Stable Diffusion's video generation model with high quality output",
            "stability_ai",
            0.025,
            None,
            false,
            true,
        ),
    ];
    rows.into_iter()
        .map(
            |(id, name, description, model_type, cost, fixed, default, premium)| {
                let mut row = json!({
                    "modelId": id, "name": name, "description": description,
                    "replicateModelId": format!("{id}:{HASH}"), "costPerSecond": cost,
                    "modelType": model_type, "apiProvider": "replicate", "isActive": true,
                    "isDefault": default, "isPremium": premium, "createdAt": now, "updatedAt": now,
                });
                if let Some(d) = fixed {
                    merge(&mut row, json!({"fixedDuration": d}));
                }
                (id.to_owned(), js_fields(row))
            },
        )
        .collect()
}

/// The 4 credit packages, keyed by `packageId`.
pub fn credit_packages(now: f64) -> Vec<(String, Fields)> {
    let rows = [
        (
            "small",
            "Small",
            "Perfect for trying out video generation",
            999,
            100,
            false,
        ),
        (
            "medium",
            "Medium",
            "Great for regular video creation",
            1999,
            250,
            true,
        ),
        (
            "large",
            "Large",
            "Best value for frequent users",
            3499,
            500,
            false,
        ),
        (
            "xlarge",
            "X-Large",
            "Maximum value for power users",
            5999,
            1000,
            false,
        ),
    ];
    rows.into_iter()
        .map(|(id, name, description, price, credits, popular)| {
            let row = json!({
                "packageId": id, "name": name, "description": description, "price": price,
                "currency": "usd", "credits": credits, "isActive": true, "isPopular": popular,
                "createdAt": now, "updatedAt": now,
            });
            (id.to_owned(), js_fields(row))
        })
        .collect()
}

/// The 3 subscription plans, keyed by `planId`.
pub fn subscription_plans(now: f64) -> Vec<(String, Fields)> {
    let rows = [
        (
            "starter",
            "Starter",
            "Perfect for getting started with video generation",
            999,
            50,
            false,
            json!(["HD video quality", "Standard processing", "Basic support"]),
        ),
        (
            "pro",
            "Pro",
            "For creators who need more power and features",
            2499,
            150,
            true,
            json!([
                "Ultra HD video quality",
                "Priority processing",
                "Advanced analytics",
                "Priority support"
            ]),
        ),
        (
            "max",
            "Max",
            "Maximum features for professional creators",
            4999,
            350,
            false,
            json!([
                "Ultra HD video quality",
                "Highest priority processing",
                "Advanced analytics",
                "Custom model access",
                "Dedicated support"
            ]),
        ),
    ];
    rows.into_iter()
        .map(
            |(id, name, description, price, credits, popular, features)| {
                let row = json!({
                    "planId": id, "name": name, "description": description, "price": price,
                    "currency": "usd", "monthlyCredits": credits, "features": features,
                    "isActive": true, "isPopular": popular, "createdAt": now, "updatedAt": now,
                });
                (id.to_owned(), js_fields(row))
            },
        )
        .collect()
}

// The per-model-type parameter data that the app's init.ts and
// migrations.ts share, transcribed from our notes on the app (keyed on
// `model.modelType`; any other type gets the two base entries only).

const BASE_DEFINITIONS = {
  prompt: {
    type: "string",
    required: true,
    description: "Text description of the video to generate",
    maxLength: 1000,
  },
  duration: {
    type: "number",
    required: true,
    description: "Duration of the video in seconds",
    minValue: 1,
    maxValue: 60,
  },
};

export function getModelParameterDefinitions(modelType: any) {
  switch (modelType) {
    case "google_veo":
      return {
        ...BASE_DEFINITIONS,
        resolution: {
          type: "string",
          required: false,
          description: "Video resolution",
          allowedValues: ["720p", "1080p"],
          defaultValue: "720p",
        },
        startImageUrl: {
          type: "string",
          required: false,
          description: "URL of starting image for video generation",
        },
      };
    case "luma_ray":
      return {
        ...BASE_DEFINITIONS,
        aspectRatio: {
          type: "string",
          required: false,
          description: "Aspect ratio of the video",
          allowedValues: ["16:9", "9:16", "1:1"],
          defaultValue: "16:9",
        },
        resolution: {
          type: "string",
          required: false,
          description: "Video resolution",
          allowedValues: ["480p", "720p", "1080p"],
          defaultValue: "480p",
        },
        cameraPosition: {
          type: "string",
          required: false,
          description: "Camera position for 3D scenes",
          allowedValues: ["front", "side", "back", "top"],
        },
      };
    case "stability_ai":
      return {
        ...BASE_DEFINITIONS,
        resolution: {
          type: "string",
          required: false,
          description: "Video resolution",
          allowedValues: ["768p", "1024p"],
          defaultValue: "768p",
        },
      };
    default:
      return { ...BASE_DEFINITIONS };
  }
}

// The second argument is declared and ignored, as in the app.
export function getModelMappingRules(modelType: any, _parameterMappings?: any) {
  const base = { prompt: "prompt", duration: "duration" };
  switch (modelType) {
    case "google_veo":
      return { ...base, resolution: "resolution", startImageUrl: "image" };
    case "luma_ray":
      return {
        ...base,
        aspectRatio: "aspect_ratio",
        resolution: "resolution",
        cameraPosition: "camera_position",
      };
    case "stability_ai":
      return { ...base, resolution: "resolution" };
    default:
      return base;
  }
}

export function getModelConstraints(modelType: any) {
  const base = { prompt: { maxLength: 1000 }, duration: { minValue: 1, maxValue: 60 } };
  switch (modelType) {
    case "google_veo":
      return { ...base, resolution: { allowedValues: ["720p", "1080p"] } };
    case "luma_ray":
      return {
        ...base,
        aspectRatio: { allowedValues: ["16:9", "9:16", "1:1"] },
        resolution: { allowedValues: ["480p", "720p", "1080p"] },
        cameraPosition: { allowedValues: ["front", "side", "back", "top"] },
      };
    case "stability_ai":
      return { ...base, resolution: { allowedValues: ["768p", "1024p"] } };
    default:
      return base;
  }
}

export function definitionRow(model: any, now: number) {
  return {
    modelId: model.modelId,
    parameterDefinitions: getModelParameterDefinitions(model.modelType),
    mappingRules: getModelMappingRules(model.modelType, model.parameterMappings),
    constraints: getModelConstraints(model.modelType),
    parameterCategories: ["basic", "advanced"],
    createdAt: now,
    updatedAt: now,
  };
}

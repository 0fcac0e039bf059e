/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the same valibot schemas that
 * validate the requests (through `@valibot/to-json-schema`, JSON Schema 2020-12 as OpenAPI 3.1
 * uses).
 *
 * @module
 */

import { toJsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import { ERROR_CODES } from "./api_types.ts";
import type * as v from "valibot";
import type { TaskRegistry } from "../typed_tasks.ts";
import * as S from "./_schemas.ts";
import { ROUTES } from "./_routes.ts";

export { ROUTES } from "./_routes.ts";
export type { RouteDoc } from "./_routes.ts";

type Schema = v.GenericSchema;

const CONVERSION = { target: "draft-2020-12", errorMode: "ignore" } as const;
const ref = (name: string) => `#/components/schemas/${name}`;

/** The request bodies, named as `_schemas.ts` exports them: the document's reusable schemas. */
const BODIES: Record<string, Schema> = Object.fromEntries(
  Object.entries(S).filter(([, schema]) => ROUTES.some((route) => route.body === schema)),
);
const nameOf = new Map(Object.entries(BODIES).map(([name, schema]) => [schema, name]));

/** Every error response's body. */
const ERROR_SCHEMA = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { enum: [...ERROR_CODES] },
        message: { type: "string" },
        issues: { type: "array", items: { type: "string" } },
      },
    },
  },
};

const ERROR = {
  description: "Error",
  content: { "application/json": { schema: { $ref: ref("Error") } } },
};

let cached: { paths: Record<string, unknown>; schemas: Record<string, unknown> } | null = null;

/** The parts of the document that do not depend on where it is served (built once). */
function build(): { paths: Record<string, unknown>; schemas: Record<string, unknown> } {
  if (cached) return cached;
  const schemas = {
    ...toJsonSchemaDefs(BODIES, {
      ...CONVERSION,
      overrideRef: ({ referenceId }) => ref(referenceId),
    }),
    Error: ERROR_SCHEMA,
  };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const parameters = [...route.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: "path",
      required: true,
      schema: name === "id" ? { type: "integer", minimum: 1 } : { type: "string" },
    }));
    if (route.query) {
      const schema = toJsonSchema(route.query, CONVERSION) as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: "query",
          required: schema.required?.includes(name) ?? false,
          schema: property as never,
        });
      }
    }
    const [status, description] = route.returns;
    const errors = Object.fromEntries(
      [
        ["400", route.body || route.query || parameters.length > 0],
        ["401", route.scope !== "none"],
        ["403", route.scope === "write"],
        ["404", route.path.includes(":")],
        ["409", route.path.startsWith("/worker/tasks") || /cancel|retry$/.test(route.path)],
        ["413", route.body !== undefined],
        ["415", route.body !== undefined],
      ].filter(([, applies]) => applies).map(([code]) => [code, ERROR]),
    );
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.scope === "none" ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: ref(nameOf.get(route.body)!) } } },
          },
        }
        : {}),
      responses: { [String(status)]: { description }, ...errors },
    };
  }
  return cached = { paths, schemas };
}

/** Options of {@linkcode openApiDocument}. */
export interface OpenApiOptions {
  /**
   * Typed tasks (`defineTasks`): the enqueue bodies are then documented per task type, `oneOf`
   * one schema per type (`Enqueue_<type>`, its `payload` from the type's schema).
   *
   * @default {undefined (one body for any task type)}
   */
  tasks?: TaskRegistry;
}

/** The enqueue bodies of a registry's task types: their schemas, and the `oneOf` over them. */
function typedBodies(tasks: TaskRegistry): {
  schemas: Record<string, unknown>;
  oneOf: { $ref: string }[];
} {
  const base = toJsonSchema(S.EnqueueBody, CONVERSION) as {
    properties: Record<string, unknown>;
    required?: string[];
  };
  const schemas: Record<string, unknown> = {};
  for (const type of tasks.types) {
    const definition = tasks.get(type)!;
    const { $schema: _, ...payload } = toJsonSchema(definition.payload, CONVERSION) as Record<
      string,
      unknown
    >;
    const name = `Enqueue_${type.replace(/[^\w.-]/g, "_")}`;
    const { $schema: __, ...body } = base as Record<string, unknown>;
    schemas[name] = {
      ...body,
      properties: { ...base.properties, taskType: { const: type }, payload },
      required: [...new Set([...(base.required ?? []), "taskType", "payload"])],
    };
  }
  return { schemas, oneOf: Object.keys(schemas).map((name) => ({ $ref: ref(name) })) };
}

/**
 * The OpenAPI document of the API served at `base`.
 *
 * @example Usage
 * ```ts
 * import { openApiDocument } from "@tasklite/tasklite/hono";
 *
 * const doc = openApiDocument("/queue");
 * console.log(doc.servers); // [{ url: "/queue" }]
 * ```
 *
 * @param base The mount path the API is served under (`/queue`), or a full URL.
 * @param options Typed tasks, to document the enqueue bodies per task type.
 * @returns The document: `paths` with an `operationId` each, request bodies as references to
 * `components.schemas`, and `servers` naming `base`.
 */
export function openApiDocument(base = "", options: OpenApiOptions = {}): Record<string, unknown> {
  let { paths, schemas } = build();
  if (options.tasks) {
    const typed = typedBodies(options.tasks);
    const body = (schema: unknown) => ({
      required: true,
      content: { "application/json": { schema } },
    });
    const at = (path: string) => paths[path] as { post: Record<string, unknown> };
    paths = {
      ...paths,
      "/tasks": {
        ...at("/tasks"),
        post: { ...at("/tasks").post, requestBody: body({ oneOf: typed.oneOf }) },
      },
      "/tasks/batch": {
        ...at("/tasks/batch"),
        post: {
          ...at("/tasks/batch").post,
          requestBody: body({
            type: "object",
            required: ["tasks"],
            properties: { tasks: { type: "array", items: { oneOf: typed.oneOf } } },
          }),
        },
      },
    };
    schemas = { ...schemas, ...typed.schemas };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "tasklite",
      version: "0.1.0",
      description: "A durable task queue in one SQLite file, over HTTP.",
    },
    servers: [{ url: base.replace(/\/+$/, "") || "/" }],
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

import type { Config } from '../config/schema';
import { apiDescription, type OpenApiDocument } from '../http/openapi';

/** The API description a server with this configuration publishes at /openapi.json; needs no database and no server. */
export function describeApi(config: Readonly<Config>): OpenApiDocument {
  return apiDescription({ leapEventsHeader: config.leap_events.header_name });
}

/**
 * `deno task bench`: every benchmark, one JSON object per line.
 *
 * @module
 */

import { benchPrimitives } from "./primitives.ts";

await benchPrimitives();

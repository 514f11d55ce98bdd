/**
 * The version of llada-ts, as `deno.json` states it (a test keeps the two equal): `llada --version` prints it.
 *
 * @module
 */

/** The package version (semantic versioning; see CHANGELOG.md). */
export const VERSION = "0.1.0";

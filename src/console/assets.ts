/**
 * The console's built front-end (scripts/build-console.mjs → dist/console/assets/), loaded by the
 * one loader in core/page-assets.ts.
 */
import { builtAssetsDir, loadPageAssets, type PageAssets } from '../core/page-assets.js';

/** Load the console's assets (from `dir`, default beside this module in dist/); undefined when not built. */
export function loadConsoleAssets(
  dir: string = builtAssetsDir(import.meta.url, '../../dist/console/assets/'),
): PageAssets | undefined {
  return loadPageAssets(dir);
}

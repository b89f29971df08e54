/**
 * The inspector page's built front-end (scripts/build-console.mjs → dist/client/inspector/assets/),
 * loaded by the one loader in core/page-assets.ts.
 */
import { builtAssetsDir, loadPageAssets, type PageAssets } from '../../core/page-assets.js';

/** Load the inspector page's assets; undefined when the page was not built. */
export function loadInspectorAssets(
  dir: string = builtAssetsDir(import.meta.url, '../../../dist/client/inspector/assets/'),
): PageAssets | undefined {
  return loadPageAssets(dir);
}

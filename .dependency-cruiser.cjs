/**
 * The layout's rules (docs/ARCHITECTURE.md#the-rules): arrows point down, nothing runs in a circle.
 * Checked in `npm test` (`npm run arch`).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Two modules that need each other are one idea split in the wrong place: merge them or move the shared part down.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-the-ground',
      severity: 'error',
      comment: 'core/ is what every part shares: it imports nothing of burrow but itself (and the version).',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/version\\.ts$'] },
    },
    {
      name: 'wire-is-pure',
      severity: 'error',
      comment: 'wire/ holds the codecs both sides speak: it imports only core/ and its own folder.',
      from: { path: '^src/wire/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/wire/$1/', '^src/version\\.ts$'] },
    },
    {
      name: 'client-never-imports-the-server-side',
      severity: 'error',
      comment: 'What a user runs on their machine depends on wire/ and core/ only.',
      from: { path: '^src/client/' },
      to: { path: '^src/(server|adapters|auth|store|app|cli|cluster|console)/' },
    },
    {
      name: 'server-never-names-an-edge',
      severity: 'error',
      comment: 'server/ is the core with its ports; adapters, auth, the store, the cluster and app/ plug into them.',
      from: { path: '^src/server/' },
      to: { path: '^src/(adapters|auth|store|app|cli|client|cluster|console)/' },
    },
    {
      name: 'edges-stay-below-the-root',
      severity: 'error',
      comment: 'adapters/, auth/, store/ never import app/, cli/ or the client.',
      from: { path: '^src/(adapters|auth|store)/' },
      to: { path: '^src/(app|cli|client)/' },
    },
    {
      name: 'adapters-are-independent',
      severity: 'error',
      comment: 'One folder per edge: deleting one must not break another.',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'console-goes-through-the-admin-api',
      severity: 'error',
      comment:
        'The web console acts through the admin API (auth/admin-api.ts) and reads the server through its ports: never the store, an edge, app/ or the CLI.',
      from: { path: '^src/console/' },
      to: { path: '^src/(store|adapters|cluster|app|cli|client|wire)/' },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports is dead code (entry points excepted).',
      from: {
        orphan: true,
        path: '^src/',
        pathNot: ['^src/(index|cli|version)\\.ts$', '^src/app/(server|pipe)\\.ts$', '\\.d\\.ts$'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};

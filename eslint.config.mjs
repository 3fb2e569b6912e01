import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist', '**/node_modules', '**/*.js', '**/*.mjs', 'tmp/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          // The durable stores are secondary entry points of libs/channels, loaded only when configured.
          checkDynamicDependenciesExceptions: ['@eventing/channels'],
          depConstraints: [
            // libs/api is the root of the graph: it imports nothing of ours.
            { sourceTag: 'scope:api', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:api', 'scope:shared'] },
            // The data plane never reaches into the control plane.
            {
              sourceTag: 'scope:data-plane',
              onlyDependOnLibsWithTags: ['scope:api', 'scope:shared', 'scope:data-plane', 'scope:testing'],
            },
            {
              sourceTag: 'scope:control-plane',
              onlyDependOnLibsWithTags: ['scope:api', 'scope:shared', 'scope:control-plane', 'scope:testing'],
            },
            // The controller creates and deletes durable stores with the store clients of libs/channels
            // (its provisioners, loaded lazily when Kafka or NATS is given).
            {
              sourceTag: 'scope:controller',
              onlyDependOnLibsWithTags: [
                'scope:api',
                'scope:shared',
                'scope:control-plane',
                'scope:data-plane',
                'scope:testing',
              ],
            },
            // The admission webhook validates with the same code as the data plane (CESQL's parser).
            {
              sourceTag: 'scope:admission',
              onlyDependOnLibsWithTags: [
                'scope:api',
                'scope:shared',
                'scope:control-plane',
                'scope:data-plane',
                'scope:testing',
              ],
            },
            {
              sourceTag: 'scope:testing',
              onlyDependOnLibsWithTags: ['scope:api', 'scope:shared', 'scope:data-plane'],
            },
            // Source adapters are data plane that also talk to the API server, as upstream's do: the
            // PingSource adapter's Lease, ApiServerSource's watches.
            {
              sourceTag: 'scope:source-adapter',
              onlyDependOnLibsWithTags: [
                'scope:api',
                'scope:shared',
                'scope:data-plane',
                'scope:control-plane',
                'scope:testing',
              ],
            },
            // Apps are shells over libs, never over other apps.
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
          ],
        },
      ],
    },
  },
];

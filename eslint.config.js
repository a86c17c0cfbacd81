import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: [
      'dist/',
      'node_modules/',
      'bench/results/',
      'data/',
      'test-output/',
      '.receiver-*/'
    ]
  }),
  {
    name: 'fastify-chat/overrides',
    rules: {
      // `void promise` marks a promise deliberately not awaited (its errors are handled inside).
      'no-void': ['error', { allowAsStatement: true }],
      // A `let` read by a callback made before its one assignment must stay a `let` (no TDZ error if called early).
      'prefer-const': ['error', { destructuring: 'all', ignoreReadBeforeAssign: true }]
    }
  },
  {
    name: 'fastify-chat/overrides-ts',
    files: ['**/*.ts'],
    rules: {
      // TypeBox schemas pair `const X = Type.Object(…)` with `type X = Static<typeof X>`; tsc reports real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]

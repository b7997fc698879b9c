import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  // The pure core must not reach for I/O: translation, analysis, simulation, the model and the API types. Layers
  // point one way: translate and analyze both build on model (plan, naming, address, profile, context) and never
  // on each other; model builds on api only. Each directory's block repeats the I/O patterns because a later
  // no-restricted-imports setting replaces an earlier one for the same file.
  ...[
    { files: ['src/api/**', 'src/schema/**', 'src/simulate/**', 'src/core/**', 'src/install/**'], layers: [] },
    // `spillway check`: the checks are pure functions of a gathered snapshot; only gather.ts and snapshot.ts do I/O.
    { files: ['src/check/checks/**', 'src/check/view.ts', 'src/check/run.ts', 'src/check/types.ts'], layers: [] },
    { files: ['src/model/**'], layers: [{ regex: '(^|/)(translate|analyze|core|cli|controller)/', message: 'model is the bottom layer: it imports only api (and itself).' }] },
    { files: ['src/translate/**'], layers: [{ regex: '(^|/)analyze/', message: 'translate builds on model, never on analyze: move what both need into src/model.' }] },
    { files: ['src/analyze/**'], layers: [{ regex: '(^|/)translate/', message: 'analyze builds on model, never on translate: move what both need into src/model.' }] },
  ].map(({ files, layers }) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'process'], message: 'The core is pure: no I/O modules.' },
          { group: ['@kubernetes/*'], message: 'The core never imports the Kubernetes client.' },
          ...layers,
        ],
      }],
      'no-restricted-globals': ['error', 'process'],
    },
  })),
);

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
  {
    // The pure core must not reach for I/O: translation, analysis, simulation and the API types.
    files: ['src/api/**', 'src/translate/**', 'src/analyze/**', 'src/simulate/**', 'src/schema/**', 'src/core/**', 'src/install/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'process'], message: 'The core is pure: no I/O modules.' },
          { group: ['@kubernetes/*'], message: 'The core never imports the Kubernetes client.' },
        ],
      }],
      'no-restricted-globals': ['error', 'process'],
    },
  },
);

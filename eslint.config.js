// Type-aware linting: the async rules catch promises nobody awaits or logs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'packages/*/dist/**',
      'node_modules/**',
      '.run/**',
      'coverage/**',
      'test-results/**',
      '.tmp-*/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's describe/test return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'test', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // The web UI (web/): browser code under its own tsconfig, with rules of its own.
    files: ['web/src/**/*.{ts,tsx}'],
    rules: {
      // Tokens stay in memory: the SDK's default storage, never the browser's.
      'no-restricted-globals': [
        'error',
        { name: 'localStorage', message: 'Tokens and state stay in memory (SPEC §13).' },
        { name: 'sessionStorage', message: 'Tokens and state stay in memory (SPEC §13).' },
      ],
      // The CSP forbids inline scripts; HTML strings would also bypass Preact's escaping.
      'no-restricted-properties': [
        'error',
        { property: 'innerHTML', message: 'Render with Preact; never inject HTML.' },
        { property: 'outerHTML', message: 'Render with Preact; never inject HTML.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'No raw HTML.' },
        {
          selector: "JSXAttribute[name.name='style']",
          message: 'No inline styles (CSP): use a class.',
        },
      ],
    },
  },
  {
    files: ['web/vite.config.js'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly' } },
  },
);

// One lint configuration for all of dpdk-ts's TypeScript (lib, bin, examples, tools, test).
// Formatting is prettier's job (.prettierrc.json); these rules catch defects and hold the
// house style that CONTRIBUTING.md describes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.tap/', 'coverage/', 'docs/api/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters already report these, with the same meaning.
      '@typescript-eslint/no-unused-vars': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector:
            ':matches(PropertyDefinition, MethodDefinition[kind!="constructor"], TSParameterProperty)[accessibility="private"]',
          message: 'Use an ECMAScript #private member instead of the private keyword (CONTRIBUTING.md).',
        },
        {
          selector:
            ':matches(ImportDeclaration, ExportNamedDeclaration, ExportAllDeclaration, ImportExpression)[source.value=/^\\.\\.?\\/(?!.*\\.(js|json|mjs|cjs)$)/]',
          message: 'Relative imports end in .js (CONTRIBUTING.md).',
        },
        {
          selector: 'Property[key.name="shell"]:not([value.value=false])',
          message:
            'No command line through a shell: run the program with execFile/spawn and an argument list (CONTRIBUTING.md).',
        },
      ],
      // exec/execSync run a command line through /bin/sh: a value in it can run anything.
      'no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'node:child_process'].map((name) => ({
            name,
            importNames: ['exec', 'execSync'],
            message: 'Use execFile/execFileSync with an argument list: exec runs a command line through a shell.',
          })),
        },
      ],
      // tsc's noFallthroughCasesInSwitch checks this, and knows that process.exit() never returns.
      'no-fallthrough': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A `let` assigned after a teardown that reads it is the usual test shape.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-var': 'error',
    },
  },
);

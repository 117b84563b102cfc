import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const api = process.env.PARLEY_API_URL ?? 'http://127.0.0.1:3000';

/**
 * The web UI: the chat at `/` and the dashboard at `/admin`, built into dist/web (served by the
 * api, hashed assets under /assets). `npm run dev` runs this dev server next to the api, which it
 * proxies, so pages keep one origin as in production.
 */
export default defineConfig(({ command }) => ({
  root: here('.'),
  base: '/',
  publicDir: false,
  resolve: {
    // The SDK's sources: one build, and the dev server reloads on SDK changes too.
    alias: { '@parley/client': here('../packages/client/src/index.ts') },
  },
  // Served (`npm run dev`): Preact's preset, for hot updates that keep the page's state — a full
  // reload would drop the in-memory session and ask to log in after every edit. Built: esbuild.
  plugins: command === 'serve' ? [preact({ prerender: { enabled: false } })] : [],
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    rollupOptions: { input: { chat: here('index.html'), admin: here('admin/index.html') } },
  },
  server: {
    port: Number(process.env.WEB_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: {
      '/api': api,
      '/health': api,
      '/socket.io': { target: api, ws: true },
    },
  },
}));

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { isolatedEnv, startTestApp, type TestApp } from '../support/app.js';
import { http, registerUser, type Registered } from '../support/http.js';
import {
  attachment,
  content,
  filesUnder,
  finishedTask,
  image,
  upload,
  type Upload,
} from '../support/media.js';

const MiB = 1024 * 1024;
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
);

describe('uploads and processing (SPEC §12)', () => {
  let app: TestApp;
  let env: Record<string, string>;
  let alice: Registered;
  let outsider: Registered;
  let uploadDir: string;

  before(async () => {
    env = await isolatedEnv({
      AUTO_MESSAGE_QUEUE_CRON: '0 0 1 1 *',
      // A 3000 x 3000 PNG of one colour is a few KB: above this limit it is a pixel bomb.
      MEDIA_MAX_INPUT_PIXELS: '5000000',
      UPLOAD_QUOTA_BYTES: String(40 * MiB),
    });
    uploadDir = env.UPLOAD_DIR ?? '';
    app = await startTestApp(env);
    alice = await registerUser(app.url);
    outsider = await registerUser(app.url);
  });

  /** Runs `act` and checks that no file was added under UPLOAD_DIR by it. */
  const leavesNothing = async (act: () => Promise<void>) => {
    const beforeFiles = new Set(await filesUnder(uploadDir));
    await act();
    const added = (await filesUnder(uploadDir)).filter((f) => !beforeFiles.has(f));
    assert.deepEqual(added, [], 'nothing may be left on disk');
  };

  const ready = async (u: Upload) => {
    const task = await finishedTask(app.url, alice, u.task.id);
    assert.equal(task.state, 'succeeded', `task failed: ${task.error}`);
    const res = await attachment(app.url, alice, u.attachment.id);
    assert.equal(res.status, 200);
    return res.body.attachment;
  };

  test('PNG, JPEG, WebP, GIF and PDF in one request: 202, then processed', async () => {
    const files = [
      { name: 'wide.png', data: await image('png', 800, 400) },
      { name: 'photo.jpg', data: await image('jpeg', 2000, 1600, { exif: true }) },
      { name: 'small.webp', data: await image('webp', 400, 200) },
      { name: 'tiny.gif', data: await image('gif', 120, 90) },
      { name: 'doc.pdf', data: PDF, type: 'image/png' },
    ];
    const res = await upload(app.url, alice, files);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const uploads = res.body.uploads;
    assert.deepEqual(
      uploads.map((u) => [u.attachment.name, u.attachment.mime, u.attachment.kind, u.task.type]),
      [
        ['wide.png', 'image/png', 'image', 'media.process'],
        ['photo.jpg', 'image/jpeg', 'image', 'media.process'],
        ['small.webp', 'image/webp', 'image', 'media.process'],
        ['tiny.gif', 'image/gif', 'image', 'media.process'],
        ['doc.pdf', 'application/pdf', 'file', 'media.process'],
      ],
    );
    assert.ok(uploads.every((u) => u.attachment.status === 'processing'));

    const expected: [number, number, [number, number][]][] = [
      [
        800,
        400,
        [
          [150, 75],
          [300, 150],
          [600, 300],
        ],
      ],
      [
        2000,
        1600,
        [
          [150, 120],
          [300, 240],
          [600, 480],
        ],
      ],
      [
        400,
        200,
        [
          [150, 75],
          [300, 150],
          [400, 200],
        ],
      ], // never upscaled
      [
        120,
        90,
        [
          [120, 90],
          [120, 90],
          [120, 90],
        ],
      ],
    ];
    for (const [i, [width, height, sizes]] of expected.entries()) {
      const a = await ready(uploads[i] as Upload);
      assert.equal(a.status, 'ready');
      assert.deepEqual([a.width, a.height], [width, height]);
      assert.ok(a.thumbnails);
      for (const [j, variant] of (['150', '300', '600'] as const).entries()) {
        const thumb = await content(app.url, alice, a.id, variant);
        assert.equal(thumb.status, 200);
        assert.equal(thumb.headers.get('content-type'), 'image/webp');
        const meta = await sharp(thumb.body).metadata();
        assert.equal(meta.format, 'webp');
        assert.deepEqual([meta.width, meta.height], sizes[j], `${a.name} ${variant}`);
      }
    }
    // EXIF (with whatever GPS it had) is gone from the original as served.
    const jpeg = uploads[1] as Upload;
    assert.ok((await sharp(files[1]?.data).metadata()).exif, 'the upload had EXIF');
    const original = await content(app.url, alice, jpeg.attachment.id);
    assert.equal(original.headers.get('content-type'), 'image/jpeg');
    assert.equal(original.headers.get('content-disposition'), 'inline');
    assert.equal((await sharp(original.body).metadata()).exif, undefined);
    assert.equal(original.body.includes('secret-artist'), false);

    const pdf = await ready(uploads[4] as Upload);
    assert.equal(pdf.thumbnails, undefined);
    const bytes = await content(app.url, alice, pdf.id);
    assert.equal(bytes.status, 200);
    assert.deepEqual(bytes.body, PDF);
    assert.equal(bytes.headers.get('content-type'), 'application/pdf');
    assert.equal(bytes.headers.get('x-content-type-options'), 'nosniff');
    assert.match(
      bytes.headers.get('content-disposition') ?? '',
      /^attachment; filename\*=UTF-8''doc\.pdf$/,
    );
    assert.equal(bytes.headers.get('cache-control')?.startsWith('private'), true);
  });

  test('content has an ETag; If-None-Match answers 304 without a body', async () => {
    const res = await upload(app.url, alice, [{ name: 'e.png', data: await image('png', 50, 50) }]);
    const a = await ready(res.body.uploads[0] as Upload);
    const first = await content(app.url, alice, a.id, '150');
    const etag = first.headers.get('etag') ?? '';
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const again = await content(app.url, alice, a.id, '150', { 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const other = await content(app.url, alice, a.id, 'original', { 'if-none-match': etag });
    assert.equal(other.status, 200);
    assert.equal((await content(app.url, alice, a.id, 'huge')).status, 400);
  });

  test('an outsider gets 404 on every attachment route', async () => {
    const res = await upload(app.url, alice, [{ name: 'o.png', data: await image('png', 40, 40) }]);
    const a = await ready(res.body.uploads[0] as Upload);
    assert.equal((await attachment(app.url, outsider, a.id)).status, 404);
    for (const variant of [undefined, 'original', '150', '300', '600', 'display'])
      assert.equal((await content(app.url, outsider, a.id, variant)).status, 404, String(variant));
    const task = await http(app.url, 'GET', `/api/tasks/${res.body.uploads[0]?.task.id}`, {
      token: outsider.accessToken,
    });
    assert.equal(task.status, 404);
    assert.equal((await attachment(app.url, outsider, '0123456789abcdef01234567')).status, 404);
  });

  test('an HTML page named .png is refused (415) and nothing is stored', async () => {
    await leavesNothing(async () => {
      const res = await upload(app.url, alice, [
        {
          name: 'cat.png',
          data: Buffer.from('<html><script>alert(1)</script></html>'),
          type: 'image/png',
        },
      ]);
      assert.equal(res.status, 415);
      assert.equal(res.body.error?.code, 'unsupported_media_type');
    });
  });

  test('a file of 10 MiB + 1 byte is refused with 413 and its partial file removed', async () => {
    const big = Buffer.alloc(10 * MiB + 1, 7);
    (await image('jpeg', 8, 8)).copy(big); // a real JPEG start: only the size is wrong
    await leavesNothing(async () => {
      const res = await upload(app.url, alice, [
        { name: 'ok.png', data: await image('png', 20, 20) },
        { name: 'big.jpg', data: big },
      ]);
      assert.equal(res.status, 413);
      assert.equal(res.body.error?.code, 'payload_too_large');
    });
  });

  test('11 files are refused (400) and none is kept; no file at all is 400 too', async () => {
    const one = await image('png', 10, 10);
    await leavesNothing(async () => {
      const res = await upload(
        app.url,
        alice,
        Array.from({ length: 11 }, (_, i) => ({ name: `${i}.png`, data: one })),
      );
      assert.equal(res.status, 400);
      const none = await upload(app.url, alice, []);
      assert.equal(none.status, 400);
      const json = await http(app.url, 'POST', '/api/uploads', {
        token: alice.accessToken,
        body: {},
      });
      assert.equal(json.status, 415);
    });
  });

  // Found by the fuzzer: the file stream's error when the body ended inside a part had no
  // listener yet (the write was still creating its directory) and crashed the process.
  test('a multipart body that ends inside a file is 400, stores nothing, crashes nothing', async () => {
    const png = await image('png', 10, 10);
    const whole = Buffer.concat([
      Buffer.from(
        '--cut\r\ncontent-disposition: form-data; name="files"; filename="a.png"\r\n\r\n',
      ),
      png,
      Buffer.from('\r\n--cut--\r\n'),
    ]);
    await leavesNothing(async () => {
      for (const end of [80, 100, whole.length - png.length / 2, whole.length - 10]) {
        const res = await http(app.url, 'POST', '/api/uploads', {
          token: alice.accessToken,
          rawBody: whole.subarray(0, end).toString('latin1'),
          headers: { 'content-type': 'multipart/form-data; boundary=cut' },
        });
        assert.equal(res.status, 400, `cut at ${end}: ${JSON.stringify(res.body)}`);
      }
    });
  });

  test('a path in the file name is dropped: only a sanitised display name is kept', async () => {
    const res = await upload(app.url, alice, [
      { name: '../../etc/passwd', data: await image('png', 10, 10) },
      { name: '..\\..\\boot.ini\u0000.png', data: await image('png', 10, 10) },
    ]);
    assert.equal(res.status, 202);
    assert.deepEqual(
      res.body.uploads.map((u) => u.attachment.name),
      ['passwd', 'boot.ini_.png'],
    );
    for (const u of res.body.uploads) await ready(u);
    assert.ok((await filesUnder(uploadDir)).every((f) => !f.includes('passwd')));
    assert.equal(existsSync(`${uploadDir}/../etc`), false);
  });

  test('files that do not decode fail their task clearly, leave nothing, and the worker goes on', async () => {
    const htmlWithPngMagic = Buffer.concat([
      (await image('png', 10, 10)).subarray(0, 33), // signature + IHDR: detected as PNG
      Buffer.from('<html><body>not really an image</body></html>'.repeat(50)),
    ]);
    const jpeg = await image('jpeg', 600, 600);
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const bomb = await sharp({
      create: { width: 3000, height: 3000, channels: 3, background: '#fff' },
    })
      .png()
      .toBuffer();
    assert.ok(bomb.length < 200_000, 'the bomb is small on the wire');
    await leavesNothing(async () => {
      const res = await upload(app.url, alice, [
        { name: 'fake.png', data: htmlWithPngMagic },
        { name: 'half.jpg', data: truncated },
        { name: 'bomb.png', data: bomb },
      ]);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      for (const u of res.body.uploads) {
        const task = await finishedTask(app.url, alice, u.task.id);
        assert.equal(task.state, 'failed', u.attachment.name);
        assert.match(task.error ?? '', /could not be decoded as an image/);
        const a = (await attachment(app.url, alice, u.attachment.id)).body.attachment;
        assert.equal(a.status, 'failed');
        assert.equal((await content(app.url, alice, a.id)).status, 404);
      }
    });
  });

  test('the quota counts while streaming: over it is 413 and nothing is kept', async () => {
    const user = await registerUser(app.url);
    const chunk = Buffer.alloc(9 * MiB, 1);
    (await image('jpeg', 8, 8)).copy(chunk);
    await leavesNothing(async () => {
      const res = await upload(app.url, user, [
        { name: 'a.jpg', data: chunk },
        { name: 'b.jpg', data: chunk },
        { name: 'c.jpg', data: chunk },
        { name: 'd.jpg', data: chunk },
        { name: 'e.jpg', data: chunk },
      ]);
      assert.equal(res.status, 413);
      assert.match(JSON.stringify(res.body), /quota/i);
    });
  });
});

#!/usr/bin/env node
// Fails when src/lib/api/schema.d.ts is not what `npm run gen:api` makes from openapi.json.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const spec = join(root, 'openapi.json');
const committed = join(root, 'src/lib/api/schema.d.ts');

if (!existsSync(spec)) {
	console.error('check:api: openapi.json is missing (copy the backend spec to frontend/openapi.json).');
	process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'pw-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
	const bin = join(root, 'node_modules/openapi-typescript/bin/cli.js');
	// Same flags as `npm run gen:api`: request fields with a default stay optional.
	execFileSync(process.execPath, [bin, spec, '--default-non-nullable', 'false', '-o', fresh], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
	const expected = readFileSync(fresh, 'utf8');
	const actual = existsSync(committed) ? readFileSync(committed, 'utf8') : '';
	if (expected !== actual) {
		console.error(
			'check:api: src/lib/api/schema.d.ts is out of date with openapi.json.\n' +
				'Run `npm run gen:api` in frontend/ and commit the result.'
		);
		process.exit(1);
	}
	console.log('check:api: src/lib/api/schema.d.ts matches openapi.json.');
} finally {
	rmSync(dir, { recursive: true, force: true });
}

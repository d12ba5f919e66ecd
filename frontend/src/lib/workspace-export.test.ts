import { describe, expect, it } from 'vitest';
import { collect, exportFileName, formatMegabytes } from './workspace-export';

describe('exportFileName', () => {
	it('takes the name the server suggests', () => {
		expect(exportFileName('attachment; filename="postwizard-acme-20261122-101500.zip"')).toBe(
			'postwizard-acme-20261122-101500.zip'
		);
	});
	it('falls back when there is none or it looks unsafe', () => {
		expect(exportFileName(null)).toBe('postwizard-export.zip');
		expect(exportFileName('attachment; filename="../../etc/passwd"')).toBe('postwizard-export.zip');
	});
});

describe('collect', () => {
	it('reports the running total and keeps every byte', async () => {
		const stream = new ReadableStream<Uint8Array>({
			start(controller) {
				controller.enqueue(new Uint8Array([1, 2, 3]));
				controller.enqueue(new Uint8Array([4, 5]));
				controller.close();
			}
		});
		const seen: number[] = [];
		const blob = await collect(stream, (total) => seen.push(total));
		expect(seen).toEqual([3, 5]);
		expect(new Uint8Array(await blob.arrayBuffer())).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
	});
});

describe('formatMegabytes', () => {
	it('shows one decimal', () => {
		expect(formatMegabytes(1572864)).toBe('1.5 MB');
	});
});

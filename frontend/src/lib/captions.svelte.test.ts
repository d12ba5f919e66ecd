import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import type { GenerateIn } from './captions';
import { CaptionGenerator } from './captions.svelte';

const body: GenerateIn = { brief: { topic: 'sourdough' }, count: 2 };

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
	const encoder = new TextEncoder();
	return new ReadableStream({
		start(controller) {
			for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
			controller.close();
		}
	});
}

const variant = (index: number, text: string) =>
	JSON.stringify({ index, text, style: 'list', trimmed: false, versions: [] });

describe('CaptionGenerator', () => {
	it('collects streamed variants, then the stored generation', async () => {
		const generator = new CaptionGenerator(async () =>
			streamOf([
				'event: started\ndata: {"provider":"openai_compatible","model":"llama3.2","seed":1,"count":2}\n\n',
				'event: progress\ndata: {"characters":40}\n\n',
				`event: variant\ndata: ${variant(0, 'One')}\n\nevent: var`,
				`iant\ndata: ${variant(1, 'Two')}\n\n`,
				`event: done\ndata: {"id":"g1","provider":"openai_compatible","model":"llama3.2","seed":1,"variants":[${variant(0, 'One')},${variant(1, 'Two')}],"usage":{}}\n\n`
			])
		);
		await generator.generate(body);
		expect(generator.status).toBe('ready');
		expect(generator.variants.map((v) => v.text)).toEqual(['One', 'Two']);
		expect(generator.generationId).toBe('g1');
		expect(generator.characters).toBe(40);
		expect(generator.provider).toEqual({ kind: 'openai_compatible', model: 'llama3.2' });
	});

	it('shows the error the server streamed', async () => {
		const generator = new CaptionGenerator(async () =>
			streamOf(['event: started\ndata: {"provider":"openai_compatible","model":"m"}\n\n', 'event: error\ndata: {"code":"model_timeout","message":"The model server did not answer in 30 s."}\n\n'])
		);
		await generator.generate(body);
		expect(generator.status).toBe('error');
		expect(generator.error?.code).toBe('model_timeout');
		expect(generator.error?.message).toBe('The model server did not answer in 30 s.');
	});

	it('reports a refused request and a stream that broke off', async () => {
		const refused = new CaptionGenerator(async () => {
			throw new ApiError(422, 'validation_error', 'Some fields are not valid', [{ field: 'brief.topic', message: 'too short' }]);
		});
		await refused.generate(body);
		expect(refused.status).toBe('error');
		expect(refused.error?.fieldMessage('brief.topic')).toBe('too short');

		const broken = new CaptionGenerator(async () => streamOf([`event: variant\ndata: ${variant(0, 'One')}\n\n`]));
		await broken.generate(body);
		expect(broken.status).toBe('error');
		expect(broken.variants).toHaveLength(1);
	});

	it('a newer generation replaces one still running', async () => {
		let release: (() => void) | null = null;
		const generator = new CaptionGenerator(async (b, signal) => {
			if (b.brief.topic === 'slow') {
				await new Promise<void>((resolve) => (release = resolve));
				signal.throwIfAborted();
			}
			return streamOf([`event: done\ndata: {"id":"g2","provider":"offline","model":null,"seed":1,"variants":[${variant(0, b.brief.topic)}],"usage":{}}\n\n`]);
		});
		const first = generator.generate({ ...body, brief: { topic: 'slow' } });
		await generator.generate({ ...body, brief: { topic: 'fast' } });
		(release as (() => void) | null)?.();
		await first;
		expect(generator.status).toBe('ready');
		expect(generator.variants.map((v) => v.text)).toEqual(['fast']);
	});
});

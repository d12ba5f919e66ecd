import { ApiError, toApiError } from './api/errors';
import { SseParser, type CaptionVariant, type GenerateIn, type Generation, type ProviderKind } from './captions';

/** Opens the streamed generation; resolves to the response body once the server answered 200. */
export type GenerationStream = (body: GenerateIn, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

export type AssistStatus = 'idle' | 'generating' | 'ready' | 'error';

/**
 * The AI assist panel's generation: streams variants in as the server sends them, shows
 * progress while a model writes, and keeps the last result until the next one starts.
 */
export class CaptionGenerator {
	status = $state<AssistStatus>('idle');
	variants = $state<CaptionVariant[]>([]);
	/** How many variants were asked for (for "2 of 3"). */
	expected = $state(0);
	/** Characters a model has written so far (0 for the built-in assistant). */
	characters = $state(0);
	provider = $state<{ kind: ProviderKind; model: string | null } | null>(null);
	generationId = $state<string | null>(null);
	error = $state<ApiError | null>(null);

	#open: GenerationStream;
	#controller: AbortController | null = null;
	#run = 0;

	constructor(open: GenerationStream) {
		this.#open = open;
	}

	async generate(body: GenerateIn): Promise<void> {
		this.cancel();
		const run = ++this.#run;
		const controller = new AbortController();
		this.#controller = controller;
		this.status = 'generating';
		this.variants = [];
		this.expected = body.count ?? 3;
		this.characters = 0;
		this.error = null;
		this.generationId = null;
		try {
			const stream = await this.#open(body, controller.signal);
			const reader = stream.getReader();
			const decoder = new TextDecoder();
			const parser = new SseParser();
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
					if (run !== this.#run) return;
					this.#handle(event.event, JSON.parse(event.data));
				}
			}
			if (run !== this.#run) return;
			if (this.status === 'generating') {
				// The stream ended without `done` or `error`: the connection broke.
				this.#fail(new ApiError(0, 'network_error', 'The connection to PostWizard broke off; try again.'));
			}
		} catch (err) {
			if (run !== this.#run) return;
			const error = toApiError(err);
			if (error.code === 'aborted' || controller.signal.aborted) {
				this.status = this.variants.length > 0 ? 'ready' : 'idle';
				return;
			}
			this.#fail(error);
		} finally {
			if (run === this.#run) this.#controller = null;
		}
	}

	#handle(name: string, data: Record<string, unknown>): void {
		switch (name) {
			case 'started':
				this.provider = { kind: data.provider as ProviderKind, model: (data.model as string | null) ?? null };
				break;
			case 'progress':
				this.characters = Number(data.characters) || 0;
				break;
			case 'variant':
				this.variants = [...this.variants, data as unknown as CaptionVariant];
				break;
			case 'done': {
				const generation = data as unknown as Generation;
				this.variants = generation.variants;
				this.generationId = generation.id;
				this.status = 'ready';
				break;
			}
			case 'error':
				this.#fail(new ApiError(502, String(data.code ?? 'caption_failed'), String(data.message ?? 'The caption request failed.')));
				break;
		}
	}

	#fail(error: ApiError): void {
		this.error = error;
		this.status = 'error';
	}

	/** Stop a generation in flight (its variants so far stay). */
	cancel(): void {
		this.#controller?.abort();
		this.#controller = null;
	}

	dispose(): void {
		this.#run++;
		this.cancel();
	}
}

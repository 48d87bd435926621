/** One server-sent event as a client sees it. */
export interface SseMessage {
  readonly id?: string;
  readonly event: string;
  readonly data: string;
}

/**
 * Reads server-sent events from a fetch response body, one message at a time: a minimal client with
 * the parsing rules of the HTML spec that the tests need (comments skipped, multi-line data joined).
 */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  /** Keep-alive comments seen so far. */
  comments = 0;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** The next message, or `undefined` once the stream has ended. */
  async next(): Promise<SseMessage | undefined> {
    for (;;) {
      const block = await this.#block();
      if (block !== "comment") return block;
    }
  }

  /** The next block: a message, a comment-only block, or `undefined` at the end of the stream. */
  async #block(): Promise<SseMessage | "comment" | undefined> {
    for (;;) {
      const end = this.#buffer.search(/\r?\n\r?\n/);
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end).replace(/^\r?\n\r?\n/, "");
        return this.#parse(block) ?? "comment";
      }
      const { done, value } = await this.#reader.read();
      if (done) return undefined;
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining message until the stream ends. */
  async rest(): Promise<SseMessage[]> {
    const messages: SseMessage[] = [];
    for (let message = await this.next(); message !== undefined; message = await this.next())
      messages.push(message);
    return messages;
  }

  /** Reads messages until one satisfies `found`; fails if the stream ends first. */
  async until(found: (message: SseMessage) => boolean): Promise<SseMessage[]> {
    const seen: SseMessage[] = [];
    for (;;) {
      const message = await this.next();
      if (message === undefined)
        throw new Error(`stream ended before the awaited message; saw ${seen.length}`);
      seen.push(message);
      if (found(message)) return seen;
    }
  }

  /** Reads until a comment-only block (a keep-alive) arrives; fails if a message or the end comes first. */
  async untilComment(): Promise<void> {
    const block = await this.#block();
    if (block !== "comment")
      throw new Error(`expected a keep-alive comment, received ${JSON.stringify(block)}`);
  }

  /** Stops reading (the connection stays up until the caller aborts the request). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => undefined);
  }

  #parse(block: string): SseMessage | undefined {
    let id: string | undefined;
    let event = "message";
    const data: string[] = [];
    let fields = 0;
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(":")) {
        this.comments++;
        continue;
      }
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      fields++;
      if (name === "id") id = value;
      else if (name === "event") event = value;
      else if (name === "data") data.push(value);
    }
    if (fields === 0) return undefined;
    return { ...(id === undefined ? {} : { id }), event, data: data.join("\n") };
  }
}

// Tests read response bodies as loose JSON and assert their shape with expect(); typing every
// body would repeat the contracts' schemas, which the server already enforces on the way out.
declare global {
  interface Body {
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked by assertions
    json(): Promise<any>;
  }
  interface Response {
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked by assertions
    json(): Promise<any>;
  }
}

export {};

// Questions on the terminal, for the offers a command makes only when a person is there.
import type { CliContext } from './context.js';

/** Asks on stderr and reads one line from stdin (without its newline; what came before end of input). */
async function readAnswer(context: CliContext, question: string): Promise<string> {
  const { stdin, stderr } = context;
  stderr.write(question);
  stdin.resume();
  return new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      finish();
      // a line read past this one stays unread for the next question
      const rest = text.slice(newline + 1);
      if (rest) stdin.unshift(Buffer.from(rest));
      resolve(text.slice(0, newline).replace(/\r$/, ''));
    };
    const onEnd = () => {
      finish();
      resolve(text);
    };
    const finish = () => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.pause();
    };
    stdin.on('data', onData);
    stdin.on('end', onEnd);
  });
}

/** A yes/no question; an empty answer is `fallback` (no unless given), anything but y/yes otherwise is no. */
export async function askYesNo(context: CliContext, question: string, fallback = false): Promise<boolean> {
  const answer = (await readAnswer(context, `${question} ${fallback ? '[Y/n]' : '[y/N]'} `)).trim();
  return answer === '' ? fallback : /^y(es)?$/i.test(answer);
}

/** A question with a default shown in brackets: an empty answer takes the default. */
export async function askWithDefault(context: CliContext, question: string, fallback: string): Promise<string> {
  const answer = (await readAnswer(context, `${question} [${fallback}] `)).trim();
  return answer === '' ? fallback : answer;
}

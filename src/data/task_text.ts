/**
 * The unlabelled training text of GLUE tasks as pre-training documents: task-adaptive pre-training
 * (TAPT, Gururangan et al., ACL 2020, "Don't Stop Pretraining"), i.e. more masked-language-model
 * training on the text of the task's own training examples before fine-tuning on their labels.
 * Only the train split is read (never dev or test), labels are dropped, and each distinct text
 * (text A and text B of pairs alike) appears once, in file order.
 */
import { CorpusDocument } from './corpus';
import { LoadTaskOptions, loadTask } from './glue';

/** One document per task, named '<task>/train', holding the task's distinct training texts. */
export function taskTextDocuments(tasks: readonly string[], options: LoadTaskOptions & { limitLines?: number } = {}): CorpusDocument[] {
  return tasks.map((name) => {
    const limit = options.limitLines ?? Infinity;
    const seen = new Set<string>();
    for (const e of loadTask(name, 'train', options)) {
      for (const text of [e.textA, e.textB]) {
        const s = text?.trim();
        if (s && seen.size < limit) seen.add(s);
      }
      if (seen.size >= limit) break;
    }
    const sentences = [...seen]; // a Set keeps insertion order: file order
    if (sentences.length === 0) throw new Error(`${name}: its training split has no text to pre-train on`);
    return { name: `${name}/train`, sentences };
  });
}

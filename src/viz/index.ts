/**
 * advlm's pictures and tables: figure builders (plain data in, plotly figure `{data, layout}`
 * out), `show` for notebooks, PNG/SVG/HTML export, and the results table.
 *
 *   import { trainingCurvesFigure, show, savePng, showTable } from './src/viz';
 *   await show(trainingCurvesFigure([{ name: 'FreeLB', loss: [...], metric: [...] }]));
 */
export { FIGURE_DEFAULTS, axisTitles, checkFigure, colour, describeFigure, figureSize, type Figure, type Layout, type Trace } from './figure';
export { trainingCurvesFigure, smoothEma, TRAINING_CURVES_DEFAULTS, type TrainingCurve, type TrainingCurvesOptions } from './training_curves';
export { attentionFigure, ATTENTION_DEFAULTS, type AttentionOptions } from './attention_map';
export { embeddingFigure, EMBEDDING_DEFAULTS, type EmbeddingColumns, type EmbeddingOptions, type EmbeddingPoint } from './embedding_scatter';
export { ascentFigure, ASCENT_DEFAULTS, type AscentOptions, type AscentSeries } from './ascent_steps';
export { lossLineFigure, lossSurfaceFigure, LOSS_LINE_DEFAULTS, LOSS_SURFACE_DEFAULTS, type LossCurve, type LossLineOptions, type LossSurfaceOptions } from './loss_landscape';
export { accuracyVsEpsFigure, ACCURACY_VS_EPS_DEFAULTS, type AccuracyCurve, type AccuracyVsEpsOptions } from './accuracy_vs_eps';
export { methodComparisonFigure, METHOD_COMPARISON_DEFAULTS, type MethodComparisonOptions, type MethodResult } from './method_comparison';
export { lossIncreaseHistogram, LOSS_INCREASE_DEFAULTS, type LossIncreaseOptions, type LossIncreaseSeries } from './loss_increase_histogram';
export { adversarialImagesFigure, toImage, ADVERSARIAL_IMAGES_DEFAULTS, type AdversarialExample, type AdversarialImagesOptions, type Pixels } from './adversarial_images';
export { show, displayFigure, figureBundle, SHOW_DEFAULTS, type ShowOptions, type ShowResult } from './show';
export { figureToPng, figureToSvg, savePng, saveSvg, saveHtml, type ImageSize } from './export';
export { figureHtml, type HtmlOptions } from './html';
export { closeRenderer, chromiumPath, rendererAvailable, renderFigure, validateFigure, RENDERER_DEFAULTS, type FigureIssue, type RenderOptions } from './renderer';
export { inTslab, displayTarget, type MimeBundle } from './tslab_display';
export { median, quantile, variance, spread, type VarianceKind } from '../stats/summary';
export {
  summarizeResults,
  resultRows,
  tableHtml,
  tableMarkdown,
  tableTsv,
  tableText,
  summaryFrame,
  showTable,
  danfo,
  TABLE_DEFAULTS,
  type ResultRow,
  type ResultsSummary,
  type SummaryCell,
  type TableOptions,
} from './tables';

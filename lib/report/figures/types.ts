/** A plotly figure as plain data: a pure function of results builds it; displaying or writing it is separate. */
export interface PlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

package org.align4j.job;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.align4j.Align4jException;
import org.align4j.AtomicFile;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** A line chart of a few named series written as a PNG (XChart, drawn headless), for job reports. */
public final class LinePlot {
    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, double[][]> series = new LinkedHashMap<>(); // name -> {x[], y[]}
    private boolean logX;

    public LinePlot(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    public LinePlot series(String name, double[] x, double[] y) {
        if (x.length != y.length || x.length == 0) {
            throw new IllegalArgumentException("series " + name + ": " + x.length + " x values and " + y.length + " y values");
        }
        series.put(name, new double[][] {x.clone(), y.clone()});
        return this;
    }

    /** A log-scale x axis (for N = 1, 2, 4, ...). */
    public LinePlot logX() {
        this.logX = true;
        return this;
    }

    /** Writes the chart to {@code png} (replaced atomically). */
    public void writePng(Path png) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(720).height(440).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setXAxisLogarithmic(logX);
        chart.getStyler().setXAxisLogarithmicDecadeOnly(false); // ticks at 2, 4, 8, ... too, not only 1, 10, 100
        series.forEach((name, xy) -> chart.addSeries(name, xy[0], xy[1]).setMarker(SeriesMarkers.CIRCLE));
        try {
            AtomicFile.write(png, tmp -> {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
                }
            });
        } catch (IOException | RuntimeException e) {
            throw new Align4jException("cannot write the plot " + png + ": " + e.getMessage(), e);
        }
    }
}

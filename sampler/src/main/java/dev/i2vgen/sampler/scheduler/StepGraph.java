package dev.i2vgen.sampler.scheduler;

import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;

/**
 * A scheduler's {@code scale_model_input} and {@code step} as tasks of a pipeline's denoising-step graph, so that the
 * sampling loop stays on the device whichever scheduler runs. Made by {@link Scheduler#stepGraph} for one schedule
 * (after {@code setTimesteps}) and one sample shape; the same frozen graph serves every step, because everything that
 * changes between steps is a graph input:
 * <ul>
 *   <li>{@link #inputs}: the step's numbers (F32) and, where diffusers' step draws noise, that noise, drawn from the
 *       pipeline's generator in diffusers' order;</li>
 *   <li>state a multistep solver keeps (its previous model outputs, its last sample) lives in device buffers: bound
 *       once from {@link #initialState}, moved on the device by {@link #afterStep}.</li>
 * </ul>
 * Pipelines call, per run: {@code initialState} (bind), then for each step i: {@code inputs(i, generator)},
 * execute, {@code afterStep(plan, i)}.
 */
public interface StepGraph {

    /** {@code scale_model_input(x, timesteps[i])}: x itself where the scheduler does not scale. */
    Value scaleModelInput(TaskGraph g, Value x);

    /**
     * {@link #scaleModelInput} in another graph {@code g} than the one this step graph was made for: a model graph that
     * runs apart from the update (CFG-parallel runs the UNet on each device, then the update after the exchange).
     * Declares in {@code g} the inputs the scaling reads, under the names {@link #inputs} gives their values, so that a
     * caller hands each of the step's inputs to every graph that declares it.
     */
    Value scaleModelInputApart(TaskGraph g, Value x);

    /**
     * {@code step(m, timesteps[i], x).prev_sample}, with x and m shaped as the sample shape given to
     * {@link Scheduler#stepGraph}; the result has x's dtype. Call once per graph.
     */
    Value step(TaskGraph g, Value x, Value m);

    /**
     * The graph inputs of step {@code stepIndex} (steps run in order from 0): the scheduler's numbers, computed as
     * diffusers computes them, and the noise diffusers' step would draw from {@code generator} (null only for a
     * deterministic configuration).
     */
    Map<String, Tensor> inputs(int stepIndex, TorchGenerator generator);

    /** Inputs to bind once before the first step (a multistep solver's history, zeroed). */
    default Map<String, Tensor> initialState() { return Map.of(); }

    /** After step {@code stepIndex} ran: moves the scheduler's state on the device ({@link ExecutionPlan#copy}). */
    default void afterStep(ExecutionPlan plan, int stepIndex) {}
}

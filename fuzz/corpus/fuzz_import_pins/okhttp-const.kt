object Pins {
    const val HOST = "api.example.com"
    private const val CURRENT = "sha256/ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
    val BACKUPS = arrayOf("sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
}
val spare = arrayOf<String>(Pins.CURRENT)
val pinner = CertificatePinner.Builder()
    .add(Pins.HOST, Pins.CURRENT, *Pins.BACKUPS)
    .add("**.example.com", *arrayOf("sha256/ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=", Pins.CURRENT))
    .add("cdn.example.com", *spare)
    .build()
